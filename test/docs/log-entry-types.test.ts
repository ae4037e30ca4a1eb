import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The members of `LogEntryType`, read from its declaration. */
function logEntryTypes(): string[] {
  const file = join(ROOT, 'lib', 'logs', 'log-entry.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const alias = source.statements.find(
    (statement): statement is ts.TypeAliasDeclaration =>
      ts.isTypeAliasDeclaration(statement) && statement.name.text === 'LogEntryType',
  )!;
  const union = alias.type as ts.UnionTypeNode;
  return union.types.map((member) => {
    const literal = (member as ts.LiteralTypeNode).literal as ts.StringLiteral;
    return literal.text;
  });
}

describe('docs/logs.md', () => {
  it('describes every LogEntryType, and no other type, in the entry reference', () => {
    const types = logEntryTypes();
    expect(types).to.include.members(['secte', 'fecte', 'limit_cte', 'srat']);
    const page = readFileSync(join(ROOT, 'docs', 'logs.md'), 'utf8');
    const reference = /^- `type` \(in all\): one of (\w+) event types:\n((?: {2}- .*\n)+)/m.exec(
      page,
    );
    expect(reference, 'the `type` entry of the reference').not.to.equal(null);
    const listed = [...reference![2]!.matchAll(/^ {2}- `([^`]+)`:/gm)].map((match) => match[1]);
    expect(listed).to.deep.equal(types);
    const counts = [
      ...['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
      ...['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen'],
    ];
    expect(reference![1]).to.equal(counts[types.length]);
  });
});
