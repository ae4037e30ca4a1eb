/**
 * Quotes a client-supplied value for a private cause: bounded and with control characters
 * escaped, so a hostile value can neither flood nor forge lines in the tenant log.
 */
export function quoteForLog(value: string, maxLength = 80): string {
  const cut = value.length > maxLength ? `${value.slice(0, maxLength)}…` : value;
  return JSON.stringify(cut);
}
