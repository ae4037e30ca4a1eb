// Guest code (see encoding.js) that the host runs too: sandbox/capabilities/jwt-json-limits.ts
// loads this file's function, so that the host and the guest refuse the same JWT texts with one
// check. It must stay a self-contained function using nothing of the guest's or the host's.

/**
 * True when `text` (JSON, or anything: only brackets outside strings count) nests deeper than
 * `limit`. Linear, and written as a loop so that the guest's CPU budget can stop it.
 * @param {string} text
 * @param {number} limit
 * @returns {boolean}
 */
function jsonNestingExceeds(text, limit) {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 92) i++;
      else if (code === 34) inString = false;
    } else if (code === 34) {
      inString = true;
    } else if (code === 91 || code === 123) {
      if (++depth > limit) return true;
    } else if (code === 93 || code === 125) {
      depth--;
    }
  }
  return false;
}
