// Guest code (see encoding.js): the URLSearchParams and URL globals. URLSearchParams is plain
// JavaScript (application/x-www-form-urlencoded as WHATWG defines it); URL parses and applies
// setters on the host with Node's WHATWG URL through the synchronous `hostUrl(operation, ...)`
// callback, which returns the URL's components (plain strings) or, for a parse failure, a string
// saying why.

const searchParamsLinks = new WeakMap();
let replaceSearchList;

function formEncode(value) {
  const text = String(value).replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '\ufffd',
  );
  return encodeURIComponent(text).replace(/[!'()~]|%20/g, function (match) {
    return match === '%20' ? '+' : '%' + match.charCodeAt(0).toString(16).toUpperCase();
  });
}

function isHexByte(code) {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

function formDecode(text) {
  const spaced = text.replace(/\+/g, ' ');
  if (spaced.indexOf('%') === -1) return spaced;
  const bytes = utf8Encode(spaced);
  const out = new Uint8Array(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 37 && i + 2 < bytes.length && isHexByte(bytes[i + 1]) && isHexByte(bytes[i + 2])) {
      out[length++] = parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16);
      i += 2;
    } else {
      out[length++] = byte;
    }
  }
  return utf8Decode(out.subarray(0, length), false);
}

function parseFormList(query) {
  const list = [];
  const text = query.charCodeAt(0) === 63 ? query.slice(1) : query;
  if (text === '') return list;
  const pairs = text.split('&');
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    const value = equals === -1 ? '' : pair.slice(equals + 1);
    list.push([formDecode(name), formDecode(value)]);
  }
  return list;
}

class URLSearchParams {
  #list = [];
  static {
    replaceSearchList = function (params, list) {
      params.#list = list;
    };
  }
  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof URLSearchParams) {
      for (const [name, value] of init) this.#list.push([name, value]);
    } else if (typeof init === 'object' || typeof init === 'function') {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const items = Array.from(pair);
          if (items.length !== 2)
            throw new TypeError('URLSearchParams: each pair must have exactly two items');
          this.#list.push([String(items[0]), String(items[1])]);
        }
      } else {
        const keys = Object.keys(init);
        for (let i = 0; i < keys.length; i++) this.#list.push([keys[i], String(init[keys[i]])]);
      }
    } else {
      this.#list = parseFormList(String(init));
    }
  }
  #changed() {
    const link = searchParamsLinks.get(this);
    if (link !== undefined) link(this.toString());
  }
  get size() {
    return this.#list.length;
  }
  append(name, value) {
    this.#list.push([String(name), String(value)]);
    this.#changed();
  }
  delete(name, value) {
    const key = String(name);
    const only = value === undefined ? undefined : String(value);
    this.#list = this.#list.filter(function (pair) {
      return !(pair[0] === key && (only === undefined || pair[1] === only));
    });
    this.#changed();
  }
  get(name) {
    const key = String(name);
    for (let i = 0; i < this.#list.length; i++)
      if (this.#list[i][0] === key) return this.#list[i][1];
    return null;
  }
  getAll(name) {
    const key = String(name);
    const values = [];
    for (let i = 0; i < this.#list.length; i++)
      if (this.#list[i][0] === key) values.push(this.#list[i][1]);
    return values;
  }
  has(name, value) {
    const key = String(name);
    const only = value === undefined ? undefined : String(value);
    for (let i = 0; i < this.#list.length; i++) {
      if (this.#list[i][0] === key && (only === undefined || this.#list[i][1] === only))
        return true;
    }
    return false;
  }
  set(name, value) {
    const key = String(name);
    const text = String(value);
    const list = [];
    let found = false;
    for (let i = 0; i < this.#list.length; i++) {
      if (this.#list[i][0] !== key) list.push(this.#list[i]);
      else if (!found) {
        found = true;
        list.push([key, text]);
      }
    }
    if (!found) list.push([key, text]);
    this.#list = list;
    this.#changed();
  }
  sort() {
    const indexed = this.#list.map(function (pair, index) {
      return [pair, index];
    });
    indexed.sort(function (a, b) {
      if (a[0][0] < b[0][0]) return -1;
      if (a[0][0] > b[0][0]) return 1;
      return a[1] - b[1];
    });
    this.#list = indexed.map(function (item) {
      return item[0];
    });
    this.#changed();
  }
  forEach(callback, thisArg) {
    if (typeof callback !== 'function')
      throw new TypeError('URLSearchParams.forEach: the callback must be a function');
    for (let i = 0; i < this.#list.length; i++)
      callback.call(thisArg, this.#list[i][1], this.#list[i][0], this);
  }
  *entries() {
    for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]];
  }
  *keys() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i][0];
  }
  *values() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i][1];
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  toString() {
    const parts = [];
    for (let i = 0; i < this.#list.length; i++) {
      parts.push(formEncode(this.#list[i][0]) + '=' + formEncode(this.#list[i][1]));
    }
    return parts.join('&');
  }
  get [Symbol.toStringTag]() {
    return 'URLSearchParams';
  }
}

// Longer inputs are refused before they are copied to the host (URLs that long are never real).
const MAX_URL_INPUT = 64 * 1024;

function urlInput(value) {
  const text = String(value);
  if (text.length > MAX_URL_INPUT)
    throw new TypeError('Invalid URL: longer than ' + MAX_URL_INPUT + ' characters');
  return text;
}

function urlParts(result) {
  if (typeof result === 'string') throw new TypeError(result);
  return result;
}

// Parsing answers by input, so an action that builds the same URL on every execution (a JWKS URL)
// crosses to the host once per context rather than once per execution. The answers are frozen
// and only ever replaced whole, never changed, so URLs can share them.
const parsedUrls = new Map();
const MAX_PARSED_URLS = 64;
function parseUrl(input, base) {
  const key = base === undefined ? input : input + '\u0000' + base;
  let answer = parsedUrls.get(key);
  if (answer === undefined) {
    answer = hostUrl('parse', input, base);
    if (typeof answer !== 'string') Object.freeze(answer);
    if (parsedUrls.size >= MAX_PARSED_URLS) parsedUrls.clear();
    parsedUrls.set(key, answer);
  }
  return answer;
}

// The components a URL exposes, as the host's parser names them; each has a getter, and all but
// `origin` a setter.
const URL_COMPONENTS = Object.keys(urlParts(hostUrl('parse', 'https://example.invalid/')));

class URL {
  #parts;
  /** @type {URLSearchParams | null} */
  #searchParams = null;
  static {
    for (let i = 0; i < URL_COMPONENTS.length; i++) {
      const component = URL_COMPONENTS[i];
      const accessors = {
        get: function () {
          return this.#parts[component];
        },
        enumerable: true,
        configurable: true,
      };
      if (component === 'href') {
        accessors.set = function (value) {
          this.#parts = urlParts(parseUrl(urlInput(value), undefined));
          this.#syncSearchParams();
        };
      } else if (component !== 'origin') {
        accessors.set = function (value) {
          this.#parts = urlParts(hostUrl('set', this.#parts.href, component, urlInput(value)));
          this.#syncSearchParams();
        };
      }
      Object.defineProperty(URL.prototype, component, accessors);
    }
  }
  constructor(url, base) {
    if (arguments.length === 0) throw new TypeError('URL: 1 argument required');
    this.#parts = urlParts(
      parseUrl(urlInput(url), base === undefined ? undefined : urlInput(base)),
    );
  }
  static canParse(url, base) {
    const input = String(url);
    const baseInput = base === undefined ? undefined : String(base);
    if (
      input.length > MAX_URL_INPUT ||
      (baseInput !== undefined && baseInput.length > MAX_URL_INPUT)
    )
      return false;
    return typeof parseUrl(input, baseInput) !== 'string';
  }
  #syncSearchParams() {
    if (this.#searchParams !== null)
      replaceSearchList(this.#searchParams, parseFormList(this.#parts.search));
  }
  #fromSearchParams(query) {
    this.#parts = urlParts(hostUrl('set', this.#parts.href, 'search', query));
  }
  get searchParams() {
    if (this.#searchParams === null) {
      const params = new URLSearchParams(this.#parts.search);
      searchParamsLinks.set(params, (query) => {
        this.#fromSearchParams(query);
      });
      this.#searchParams = params;
    }
    return this.#searchParams;
  }
  toString() {
    return this.#parts.href;
  }
  toJSON() {
    return this.#parts.href;
  }
  get [Symbol.toStringTag]() {
    return 'URL';
  }
}
