/**
 * Hostile config files: an alias bomb, a `__proto__` key, duplicate keys, a file that is not a mapping, a huge
 * value in a number's place. Each is INVALID_OPTIONS naming where, and nothing is lost silently.
 */
import { describe, expect, it } from 'vitest';
import { ModelshipError } from 'modelship';
import { parseConfig } from '../../src/cli/config/load-config.js';

function problems(text: string): { key: string; line: number; message: string }[] {
  try {
    parseConfig(text, 'modelship.yaml', {});
  } catch (error) {
    expect(ModelshipError.isInstance(error)).toBe(true);
    expect((error as ModelshipError).code).toBe('INVALID_OPTIONS');
    return (error as ModelshipError).details?.problems as { key: string; line: number; message: string }[];
  }
  throw new Error('accepted');
}

describe('hostile config files', () => {
  it('refuses an alias bomb before expanding it', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    expect(problems(levels.join('\n'))[0]?.message).toMatch(/alias/i);
  });

  it('refuses a __proto__ key at its line instead of dropping the entry', () => {
    expect(problems('models:\n  __proto__:\n    ref: ./x.onnx\n')).toEqual([
      { key: '__proto__', line: 2, column: 3, message: 'not a key a config file can use' },
    ]);
  });

  it('refuses duplicate keys, a non-mapping file, and numbers out of range', () => {
    expect(problems('models:\n  a: { ref: x }\n  a: { ref: y }\n')[0]).toMatchObject({ key: '(syntax)', line: 3 });
    expect(problems('- 1\n- 2\n')[0]).toMatchObject({ key: '(file)', line: 1 });
    expect(problems('server:\n  port: 1e400\n')[0]).toMatchObject({ key: 'server.port', line: 2 });
    expect(problems('models:\n  "../../etc": { ref: x }\n')[0]).toMatchObject({ key: 'models.../../etc', line: 2 });
  });
});
