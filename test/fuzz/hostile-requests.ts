/**
 * A seeded generator of hostile HTTP requests for the fuzz test: paths of every route (and none), methods,
 * headers, content types, and bodies that are truncated, binary, deeply nested, full of number literals JSON
 * cannot hold, prototype keys, wrong dtypes and wrong shapes. The same seed gives the same requests.
 */
import { seededRandom } from '../../src/routing/policy/hash.js';

/** One generated request. */
export interface FuzzRequest {
  readonly index: number;
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** The deadline the request asked for, when it sent a valid small one (a 504 is then a fair answer). */
  readonly deadlineMs?: number;
  /** True for admin requests that carry the right token and may change the deployment. */
  readonly mutates?: boolean;
}

/** What the fuzz server serves (see http-fuzz.test.ts). */
export interface FuzzTarget {
  readonly token: string;
  readonly maxBodyBytes: number;
  /** name → inputs as [name, OIP datatype, width of a row (0: a rank-1 input), fixed rows or undefined]. */
  readonly models: Record<string, ReadonlyArray<readonly [string, string, number, number | undefined]>>;
}

const STRINGS = [
  '',
  ' ',
  'x',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '😀',
  'ä',
  '\u202e',
  '\ud800',
  '\u0000',
  '%',
  '../',
  '..%2f',
  '${x}',
  '<script>',
  "'; --",
  '\\',
  '"',
  'null',
  'NaN',
  '\r\n',
  'a'.repeat(300),
];
const LITERALS = [
  '1e309',
  '-1e309',
  '1e-400',
  '123456789012345678901234567890',
  '-0',
  '0.5',
  '-1',
  '4294967296',
  '9223372036854775808',
  'true',
  'false',
  'null',
  '"1"',
  '""',
  '{}',
  '[]',
  '[[]]',
  '{"__proto__":1}',
  '1.7976931348623157e308',
];
const NOT_JSON = [
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '.5',
  '01',
  '+1',
  'undefined',
  "'a'",
  '1e',
  '--1',
  '[1,]',
  '{"a":1,}',
  '{a:1}',
];
const DATATYPES = [
  'FP32',
  'FP64',
  'FP16',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'BOOL',
  'BYTES',
  'fp32',
  'FLOAT',
  '',
  'INT128',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/',
  ';',
  'application/json+x',
];
const METHODS = ['GET', 'POST', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const SWITCH_REFS = [
  'mnist/3',
  'mnist/1',
  'mnist@candidate',
  '3',
  'mnist/999',
  'nope/1',
  'addone/1',
  'mnist@nope',
  '/etc/passwd',
  '/etc/nonexistent',
  '../../../etc/passwd',
  'file:///etc/hostname',
  'http://127.0.0.1:1/model.onnx',
  's3://bucket/model.onnx',
  'http://169.254.169.254/latest/meta-data/',
  'file:///dev/null',
  '/dev/null',
  '',
  ' ',
  '__proto__',
  'mnist/__proto__',
];

/** A generator of hostile requests against `target`, reproducible from `seed`. */
export class HostileRequests {
  readonly #random: () => number;
  readonly #target: FuzzTarget;
  #index = 0;

  constructor(seed: number, target: FuzzTarget) {
    this.#random = seededRandom(seed);
    this.#target = target;
  }

  next(): FuzzRequest {
    const index = this.#index++;
    const roll = this.#random();
    if (roll < 0.38) return this.#predict(index);
    if (roll < 0.76) return this.#infer(index);
    if (roll < 0.9) return this.#admin(index);
    return this.#anyPath(index);
  }

  #int(lo: number, hi: number): number {
    return lo + Math.floor(this.#random() * (hi - lo + 1));
  }

  #chance(p: number): boolean {
    return this.#random() < p;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)] as T;
  }

  /** The inputs of a served model; an unknown name gets MNIST's, so its body is still worth parsing. */
  #inputsOf(model: string): FuzzTarget['models'][string] {
    const { models } = this.#target;
    return (Object.hasOwn(models, model) ? models[model] : models.mnist) ?? [];
  }

  #modelName(): string {
    return this.#chance(0.85)
      ? this.#pick(Object.keys(this.#target.models))
      : this.#pick([
          'nope',
          '__proto__',
          'constructor',
          '%2e%2e',
          'mnist%00',
          encodeURIComponent('😀'),
          '%zz',
          'a'.repeat(200),
        ]);
  }

  /** Common request headers: content type, deadline, priority, route key, junk. */
  #headers(json: boolean): { headers: Record<string, string>; deadlineMs?: number } {
    const headers: Record<string, string> = {};
    if (json ? this.#chance(0.8) : this.#chance(0.4))
      headers['content-type'] = json && this.#chance(0.75) ? 'application/json' : this.#pick(CONTENT_TYPES);
    let deadlineMs: number | undefined;
    if (this.#chance(0.12)) {
      const value = this.#pick([
        '0',
        '-1',
        '1',
        '50',
        '5000',
        '2147483648',
        '9007199254740993',
        '1e400',
        'abc',
        '',
        ' 100 ',
        '1.5',
        'Infinity',
        'NaN',
        '0x10',
      ]);
      headers['x-modelship-deadline-ms'] = value;
      const n = Number(value);
      if (value.trim() !== '' && Number.isFinite(n) && n > 0 && n <= 10_000) deadlineMs = n;
    }
    if (this.#chance(0.08))
      headers['x-modelship-priority'] = this.#pick(['high', 'low', 'normal', 'HIGH', 'urgent', '', '__proto__']);
    if (this.#chance(0.2))
      headers['x-modelship-route-key'] = this.#pick(
        [`user-${this.#int(0, 50)}`, '', '__proto__', 'ä', 'x'.repeat(2000)].map((s) => encodeHeader(s)),
      );
    if (this.#chance(0.05)) headers['accept'] = this.#pick(['*/*', 'text/html', 'application/xml']);
    if (this.#chance(0.05)) headers['x-forwarded-for'] = '127.0.0.1, ::1';
    return deadlineMs === undefined ? { headers } : { headers, deadlineMs };
  }

  /** One leaf value as JSON text: mostly valid numbers, sometimes hostile. */
  #leaf(datatype: string): string {
    if (this.#chance(0.9)) {
      if (datatype === 'BOOL') return this.#pick(['true', 'false', '0', '1']);
      if (datatype === 'BYTES') return JSON.stringify(this.#pick(STRINGS));
      if (datatype.startsWith('FP')) return String(Math.round(this.#random() * 1000) / 1000);
      return String(this.#int(0, 100));
    }
    return this.#chance(0.85) ? this.#pick(LITERALS) : JSON.stringify(this.#pick(STRINGS));
  }

  /** Rows of `width` values (width 0: a rank-1 tensor), nested, as JSON text; sometimes ragged or mis-shaped. */
  #rows(datatype: string, width: number, rows: number): string {
    const row = (n: number): string => `[${Array.from({ length: n }, () => this.#leaf(datatype)).join(',')}]`;
    if (width === 0) return row(rows);
    const out: string[] = [];
    for (let r = 0; r < rows; r++) {
      const ragged = this.#chance(0.04);
      out.push(ragged ? row(width + this.#pick([-1, 1, -width, 84])) : row(width));
    }
    return `[${out.join(',')}]`;
  }

  /** Something that is not a tensor of the right structure at all. */
  #wrongStructure(datatype: string, width: number): string {
    switch (this.#int(0, 9)) {
      case 0: {
        const depth = this.#pick([100, 5000, 20000]);
        return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
      }
      case 1:
        return this.#pick(LITERALS);
      case 2:
        return `{"data":${this.#rows(datatype, 0, width)},"shape":${this.#pick(['[1e9,1e9]', '[-1]', '[9007199254740993]', '[1.5]', '[]', '"x"', `[1,${width}]`, '[0]', '[4096,784]'])},"dtype":${this.#pick(['"float32"', '"int64"', '"bogus"', '1', 'null'])}}`;
      case 3:
        return `[${Array.from({ length: this.#pick([2, 4097, 5000]) }, () => `[${Array(Math.max(width, 1)).fill('0').join(',')}]`).join(',')}]`;
      case 4:
        return `[${this.#rows(datatype, width, 1)}]`;
      case 5:
        return '[[]]';
      case 6:
        return `[[${'1,'.repeat(this.#int(0, 2000))}1]]`;
      case 7:
        return `{"__proto__":${this.#rows(datatype, width, 1)},"constructor":[1],"toString":[2]}`;
      case 8:
        return `{${Array.from({ length: this.#pick([3, 50, 3000]) }, (_, i) => `"k${i}":[1]`).join(',')}}`;
      default:
        return `[${'['.repeat(3)}"${'\\ud800'}"${']'.repeat(3)}]`;
    }
  }

  /** JSON text for the simple API's `inputs`. */
  #predictInputs(model: string): string {
    const inputs = this.#inputsOf(model);
    const [first] = inputs;
    const rows = this.#pick([0, 1, 1, 2, 3]);
    const tensor = ([, datatype, width, fixed]: readonly [string, string, number, number | undefined]): string =>
      this.#chance(0.75) ? this.#rows(datatype, width, fixed ?? rows) : this.#wrongStructure(datatype, width);
    if (inputs.length === 1 && first && this.#chance(0.6)) return tensor(first);
    const entries = inputs.filter(() => this.#chance(0.92)).map((i) => `${JSON.stringify(i[0])}:${tensor(i)}`);
    if (this.#chance(0.15)) entries.push(`${JSON.stringify(this.#pick(STRINGS))}:[1]`);
    return `{${entries.join(',')}}`;
  }

  #outputsField(oip: boolean): string {
    if (!this.#chance(0.15)) return '';
    const names = this.#pick([[], ['nope'], ['probabilities'], ['label'], ['y,label'], ['__proto__'], ['y']]);
    const value = this.#chance(0.8)
      ? JSON.stringify(oip ? names.map((name) => ({ name })) : names)
      : this.#pick(['"y"', '[1]', '[{}]', '[null]', 'null', '{}', '[{"name":1}]']);
    return `,"outputs":${value}`;
  }

  #predict(index: number): FuzzRequest {
    const model = this.#modelName();
    const path = this.#pick([
      '/predict',
      `/models/${model}/predict`,
      `/models/${model}/versions/${this.#pick(['1', '2', 'x', '999', '__proto__', '-1'])}/predict`,
    ]);
    const body = this.#corrupt(`{"inputs":${this.#predictInputs(model)}${this.#outputsField(false)}}`);
    return { index, kind: 'predict', method: this.#method(), path, ...this.#headers(true), body } as FuzzRequest;
  }

  #oipEntry(model: string): string {
    const inputs = this.#inputsOf(model);
    const [name, datatype, width, fixed] = this.#pick(inputs);
    const rows = fixed ?? this.#pick([1, 1, 2, 3]);
    const shape = width === 0 ? [rows] : [rows, width];
    const field = (valid: string, hostile: readonly string[]): string =>
      this.#chance(0.9) ? valid : this.#pick(hostile);
    const flat = this.#chance(0.5);
    const data = this.#chance(0.85)
      ? flat
        ? `[${Array.from({ length: rows * Math.max(width, 1) }, () => this.#leaf(datatype)).join(',')}]`
        : this.#rows(datatype, width, rows)
      : this.#wrongStructure(datatype, width);
    const parts = [
      `"name":${field(JSON.stringify(name), ['"__proto__"', '"constructor"', '"toString"', '"nope"', '1', 'null', '""', '{}'])}`,
      `"shape":${field(JSON.stringify(shape), ['[-1,784]', '[1e9,1e9]', '[1.5]', '[]', '"x"', '[9007199254740993]', '[2,392]', '[784]', '[0,784]', '[1,1,784]'])}`,
      `"datatype":${field(JSON.stringify(datatype), DATATYPES.map((d) => JSON.stringify(d)).concat(['1', 'null']))}`,
      `"data":${data}`,
    ];
    if (this.#chance(0.05))
      parts.push(`"parameters":${this.#pick(['{"binary_data_size":16}', '{"__proto__":{"x":1}}', 'null', '[]'])}`);
    return `{${parts.filter(() => this.#chance(0.96)).join(',')}}`;
  }

  #infer(index: number): FuzzRequest {
    const model = this.#modelName();
    const path = this.#pick([
      `/v2/models/${model}/infer`,
      `/v2/models/${model}/versions/${this.#pick(['1', '2', 'x', '999', '__proto__'])}/infer`,
      `/v2/models/${model}`,
      `/v2/models/${model}/ready`,
      '/v2',
      '/v2/health/live',
      '/v2/health/ready',
    ]);
    const count = this.#pick([1, 1, this.#inputsOf(model).length, 2, 0]);
    const entries = Array.from({ length: count }, () => this.#oipEntry(model));
    const inputs = this.#chance(0.93)
      ? `[${entries.join(',')}]`
      : this.#pick(['{}', 'null', '"x"', '[1]', '[[]]', '[null]']);
    const id = this.#chance(0.2)
      ? `"id":${this.#pick(['"req-1"', '1', 'null', '{}', JSON.stringify(this.#pick(STRINGS))])},`
      : '';
    const body = this.#corrupt(`{${id}"inputs":${inputs}${this.#outputsField(true)}}`);
    return { index, kind: 'infer', method: this.#method(), path, ...this.#headers(true), body } as FuzzRequest;
  }

  #admin(index: number): FuzzRequest {
    const { token } = this.#target;
    const path = this.#pick([
      '/admin',
      '/admin/deployments',
      '/admin/deployments/mnist',
      '/admin/deployments/mnist',
      '/admin/deployments/addone',
      '/admin/deployments/nope',
      '/admin/deployments/__proto__',
      '/admin/deployments/mnist/x',
      '/admin/x',
    ]);
    const authorization = this.#pick([
      undefined,
      `Bearer ${token}`,
      `Bearer ${token}`,
      `Bearer ${token}`,
      `bearer ${token}`,
      `Bearer  ${token} `,
      'Bearer wrong-token-0123456789',
      `Bearer ${token}x`,
      token,
      `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`,
      'Bearer',
      '',
    ]);
    const method = this.#pick(['GET', 'POST', 'POST', 'POST', 'DELETE', 'PUT', 'HEAD']);
    const action = this.#pick([
      '"weights"',
      '"weights"',
      '"weights"',
      '"switch"',
      '"switch"',
      '"rollback"',
      '"promote"',
      '"nope"',
      '1',
      'null',
      '"__proto__"',
    ]);
    let extra = '';
    if (action === '"weights"')
      extra = `,"weight":${this.#pick(['0.5', '0.25', '0', '1', '-1', '2', '"0.5"', '1e309', 'null', '1e-400', '[]', '0.75'])}`;
    if (action === '"switch"')
      extra = `,"ref":${this.#chance(0.9) ? JSON.stringify(this.#pick(SWITCH_REFS)) : this.#pick(['1', 'null', '{}', '["mnist/1"]'])}`;
    const body =
      method === 'POST'
        ? this.#corrupt(this.#chance(0.1) ? `{"__proto__":{"action":"promote"}}` : `{"action":${action}${extra}}`)
        : undefined;
    const { headers } = this.#headers(method === 'POST');
    if (authorization !== undefined) headers.authorization = authorization;
    const authorized =
      authorization !== undefined &&
      /^Bearer\s+\S+\s*$/i.test(authorization) &&
      authorization.trim().split(/\s+/)[1] === token;
    const mutates = authorized && method === 'POST' && /^\/admin\/deployments\/mnist$/.test(path);
    return { index, kind: 'admin', method, path, headers, ...(body === undefined ? {} : { body }), mutates };
  }

  #anyPath(index: number): FuzzRequest {
    const segment = (): string =>
      this.#pick([
        'models',
        'v2',
        'admin',
        'predict',
        'healthz',
        'readyz',
        'metrics',
        'infer',
        '..',
        '.',
        '%2e%2e',
        '%2F',
        '%zz',
        '%',
        '%00',
        '%C0%AE',
        encodeURIComponent(wellFormed(this.#pick(STRINGS))),
        'x'.repeat(this.#int(1, 400)),
      ]);
    const path = `/${Array.from({ length: this.#int(0, 6) }, segment).join(this.#chance(0.1) ? '//' : '/')}${this.#chance(0.1) ? `?${this.#pick(['a=1', 'inputs=[1]', '%zz', '__proto__[x]=1'])}` : ''}`;
    const method = this.#method();
    const body =
      method === 'GET' || method === 'HEAD' || this.#chance(0.5)
        ? undefined
        : this.#corrupt(`{"inputs":${this.#predictInputs('mnist')}}`);
    return {
      index,
      kind: 'path',
      method,
      path,
      ...this.#headers(body !== undefined),
      ...(body === undefined ? {} : { body }),
    } as FuzzRequest;
  }

  #method(): string {
    return this.#chance(0.85) ? 'POST' : this.#pick(METHODS);
  }

  /** Sometimes breaks well-formed JSON text: truncation, binary garbage, bad UTF-8, trailing junk, oversize. */
  #corrupt(text: string): string | Uint8Array {
    const roll = this.#random();
    if (roll < 0.7) return text;
    if (roll < 0.76) return text.slice(0, this.#int(0, text.length - 1));
    if (roll < 0.8) return Uint8Array.from({ length: this.#int(0, 512) }, () => this.#int(0, 255));
    if (roll < 0.83)
      return Buffer.concat([
        Buffer.from(text.slice(0, this.#int(0, text.length))),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
        Buffer.from(text),
      ]);
    if (roll < 0.86) return `${text}${this.#pick(['}', ']', 'garbage', '\u0000', ' {"a":1}'])}`;
    if (roll < 0.89) return text.replace(/\d+(\.\d+)?/, this.#pick(NOT_JSON));
    if (roll < 0.91) return `\ufeff${text}`;
    if (roll < 0.93) return this.#pick(['', ' ', '\n', 'null', '[]', '1', '"x"', 'true', '{}']);
    if (roll < 0.95)
      return text.replace('{', `{"inputs":1,"__proto__":{"inputs":[[1]]},"constructor":{"prototype":{"x":1}},`);
    if (roll < 0.952) return `{"inputs":[[${'0,'.repeat(Math.ceil(this.#target.maxBodyBytes / 2))}0]]}`;
    return text.replace(/\[/, `[${'['.repeat(this.#int(1000, 30_000))}`);
  }
}

/** Header values must be Latin-1 without CR/LF; the generator percent-encodes anything else (as a proxy would reject it). */
function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(wellFormed(value));
}

/** `value` with lone surrogates replaced, so that it can be percent-encoded. */
function wellFormed(value: string): string {
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '?');
}
