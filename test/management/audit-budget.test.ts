import { expect } from 'chai';
import { AuditBudget } from '../../lib/management/audit-budget.js';

describe('AuditBudget', () => {
  it('admits `limit` entries a window, counts the rest, and the next admitted entry reports them', () => {
    let now = 1_000;
    const budget = new AuditBudget(2, 60_000, () => now);
    expect([budget.admit(), budget.admit(), budget.admit(), budget.admit()]).to.eql([
      0,
      0,
      undefined,
      undefined,
    ]);
    now += 59_999;
    expect(budget.admit()).to.equal(undefined);
    now += 1;
    expect(budget.admit()).to.equal(3);
    expect(budget.admit()).to.equal(0);
    expect(budget.admit()).to.equal(undefined);
    now += 600_000;
    expect(budget.admit()).to.equal(1);
  });
});
