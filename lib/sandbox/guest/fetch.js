// Guest code (see encoding.js): the Headers and Response globals and the `fetch` actions receive.
// The request goes to the host's `fetch` capability as plain data
// (`[url, { method, headers: [[name, value]], body, redirect }]`); the host enforces the
// allow-list, addresses, redirects, timeout, size cap and the per-execution and per-action limits,
// and answers with plain data that becomes a Response.

const HEADER_NAME = /^[!#$%&'*+.^_|~0-9A-Za-z-]+$/;

function headerName(name) {
  const text = String(name);
  if (!HEADER_NAME.test(text))
    throw new TypeError('Headers: "' + text + '" is not a valid header name');
  return text.toLowerCase();
}

function headerValue(value) {
  return String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
}

class Headers {
  #list = [];
  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const pair of init.#list) this.#list.push([pair[0], pair[1]]);
    } else if (typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const items = Array.from(pair);
        if (items.length !== 2)
          throw new TypeError('Headers: each header must be a [name, value] pair');
        this.append(items[0], items[1]);
      }
    } else if (typeof init === 'object') {
      const keys = Object.keys(init);
      for (let i = 0; i < keys.length; i++) this.append(keys[i], init[keys[i]]);
    } else {
      throw new TypeError('Headers: init must be an object or an array of [name, value] pairs');
    }
  }
  append(name, value) {
    this.#list.push([headerName(name), headerValue(value)]);
  }
  delete(name) {
    const key = headerName(name);
    this.#list = this.#list.filter(function (pair) {
      return pair[0] !== key;
    });
  }
  get(name) {
    const key = headerName(name);
    const values = [];
    for (let i = 0; i < this.#list.length; i++)
      if (this.#list[i][0] === key) values.push(this.#list[i][1]);
    return values.length === 0 ? null : values.join(', ');
  }
  getSetCookie() {
    const values = [];
    for (let i = 0; i < this.#list.length; i++)
      if (this.#list[i][0] === 'set-cookie') values.push(this.#list[i][1]);
    return values;
  }
  has(name) {
    const key = headerName(name);
    for (let i = 0; i < this.#list.length; i++) if (this.#list[i][0] === key) return true;
    return false;
  }
  set(name, value) {
    const key = headerName(name);
    this.delete(key);
    this.#list.push([key, headerValue(value)]);
  }
  forEach(callback, thisArg) {
    if (typeof callback !== 'function')
      throw new TypeError('Headers.forEach: the callback must be a function');
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  *entries() {
    const names = [];
    for (let i = 0; i < this.#list.length; i++)
      if (names.indexOf(this.#list[i][0]) === -1) names.push(this.#list[i][0]);
    names.sort();
    for (let i = 0; i < names.length; i++) yield [names[i], this.get(names[i])];
  }
  *keys() {
    for (const pair of this.entries()) yield pair[0];
  }
  *values() {
    for (const pair of this.entries()) yield pair[1];
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return 'Headers';
  }
}

function headerPairs(headers) {
  const pairs = [];
  for (const pair of headers) pairs.push([pair[0], pair[1]]);
  return pairs;
}

let setResponseOrigin;

class Response {
  #body;
  #bodyUsed = false;
  #status;
  #statusText;
  #headers;
  #url = '';
  #redirected = false;
  static {
    setResponseOrigin = function (response, url, redirected, status, statusText) {
      response.#url = String(url);
      response.#redirected = Boolean(redirected);
      if (status !== undefined) response.#status = Number(status);
      if (statusText !== undefined) response.#statusText = String(statusText);
    };
  }
  constructor(body, init) {
    const options = init === undefined || init === null ? {} : init;
    const status = options.status === undefined ? 200 : Number(options.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError('Response: status must be an integer from 200 to 599');
    }
    this.#status = status;
    this.#statusText = options.statusText === undefined ? '' : String(options.statusText);
    this.#headers = new Headers(options.headers);
    this.#body = body === undefined || body === null ? '' : String(body);
  }
  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }
  get status() {
    return this.#status;
  }
  get statusText() {
    return this.#statusText;
  }
  get headers() {
    return this.#headers;
  }
  get url() {
    return this.#url;
  }
  get redirected() {
    return this.#redirected;
  }
  get type() {
    return 'basic';
  }
  get bodyUsed() {
    return this.#bodyUsed;
  }
  #consume() {
    if (this.#bodyUsed)
      return Promise.reject(new TypeError('Body is unusable: the body has already been read'));
    this.#bodyUsed = true;
    return Promise.resolve(this.#body);
  }
  text() {
    return this.#consume();
  }
  json() {
    return this.#consume().then(function (text) {
      return JSON.parse(text);
    });
  }
  arrayBuffer() {
    return this.#consume().then(function (text) {
      return utf8Encode(text).buffer;
    });
  }
  clone() {
    if (this.#bodyUsed) throw new TypeError('Response.clone: the body has already been read');
    const copy = new Response(this.#body, { headers: this.#headers });
    setResponseOrigin(copy, this.#url, this.#redirected, this.#status, this.#statusText);
    return copy;
  }
  get [Symbol.toStringTag]() {
    return 'Response';
  }
}

function fetchRequest(init) {
  const request = {};
  if (init === undefined || init === null) return request;
  if (typeof init !== 'object') throw new TypeError('fetch: init must be an object');
  if (init.method !== undefined) request.method = String(init.method);
  if (init.redirect !== undefined) request.redirect = String(init.redirect);
  const headers = new Headers(init.headers);
  const body = init.body;
  if (body !== undefined && body !== null) {
    if (body instanceof URLSearchParams) {
      if (!headers.has('content-type'))
        headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      request.body = body.toString();
    } else if (typeof body === 'string') {
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      request.body = body;
    } else {
      throw new TypeError(
        'fetch: init.body must be a string or a URLSearchParams (for JSON, pass JSON.stringify(value) with a content-type header)',
      );
    }
  }
  request.headers = headerPairs(headers);
  return request;
}

// The host's status may be any HTTP status (a 3xx with redirect: 'manual'), which the public
// constructor refuses: the private path sets it.
function toResponse(result) {
  const response = new Response(result.body, { headers: result.headers });
  setResponseOrigin(response, result.url, result.redirected, result.status, result.statusText);
  return response;
}

// The `fetch` every execution receives: the request leaves as plain data and is made by the
// execution whose entry is running (see `invoke` in execution.js).
function fetch(input, init) {
  let url;
  let request;
  try {
    if (input instanceof URL) url = input.href;
    else if (input !== null && typeof input === 'object' && typeof input.url === 'string')
      url = input.url;
    else url = String(input);
    request = fetchRequest(init);
  } catch (error) {
    return Promise.reject(error);
  }
  return invoke('fetch', [url, request]).then(toResponse);
}
