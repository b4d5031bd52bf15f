import { describe, expect, it } from 'vitest';
import { maskTraceTail } from '../../src/llm/maskTraceTail.js';

const PAT = 'glpat-AbCdEfGhIjKlMnOpQrSt';

describe('maskTraceTail', () => {
  it('masks tokens, headers, bearer tokens, JWTs and secret-looking assignments in a trace', () => {
    const trace = [
      '\u001b[32;1mRunning with gitlab-runner 17.5.0\u001b[0;m',
      'section_start:1733300000:step_script\r\u001b[0K\u001b[0K\u001b[36;1mExecuting "step_script" stage\u001b[0;m',
      `$ export NPM_TOKEN=npm_abcdefghijklmnop1234`,
      `$ curl --header "PRIVATE-TOKEN: ${PAT}" https://gitlab.example/api/v4/projects`,
      '$ curl -H "Authorization: Bearer sk-live-0123456789abcdef" https://api.example/x',
      'JOB-TOKEN: abcdef0123456789',
      'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'connecting with DB_PASSWORD=hunter2hunter2 and user=app',
      'cloning https://deploy:s3cretpass@gitlab.example/acme/app.git',
      `echo ${PAT}`,
      'npm ERR! code E401',
      'ERROR: Job failed: exit code 1',
    ].join('\n');
    const out = maskTraceTail(trace);
    for (const secret of [
      'npm_abcdefghijklmnop1234',
      PAT,
      'sk-live-0123456789abcdef',
      'abcdef0123456789',
      'eyJhbGciOiJIUzI1NiJ9',
      'hunter2hunter2',
      's3cretpass',
    ])
      expect(out, secret).not.toContain(secret);
    expect(out).not.toContain('\u001b');
    expect(out).not.toContain('section_start');
    expect(out).toContain('npm ERR! code E401');
    expect(out).toContain('ERROR: Job failed: exit code 1');
    expect(out).toContain('user=app');
    expect(out).toContain('$ export NPM_TOKEN=[MASKED]');
  });

  it('masks the values the caller knows, and keeps variable references', () => {
    const out = maskTraceTail('$ deploy --key "$API_KEY"\nusing key Zr8xQ2mPp9\n', { secretValues: ['Zr8xQ2mPp9'] });
    expect(out).toBe('$ deploy --key "$API_KEY"\nusing key [MASKED]');
  });

  it('keeps the last lines and characters, and masks a secret that straddles the cut', () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`);
    const out = maskTraceTail(lines.join('\n'), { maxLines: 10 });
    expect(out.split('\n')).toEqual(lines.slice(-10));
    const key = [
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEpAIBAAKCAQEA1',
      'abcdefKEYMATERIAL',
      '-----END RSA PRIVATE KEY-----',
      'after',
    ];
    const cut = maskTraceTail([...lines, ...key].join('\n'), { maxLines: 3 });
    expect(cut).not.toContain('KEYMATERIAL');
    expect(cut).toContain('after');
    const short = maskTraceTail(`${'x'.repeat(100)}\n${'y'.repeat(50)}`, { maxChars: 60 });
    expect(short).toBe('y'.repeat(50));
  });

  it('a key whose beginning was cut off, or whose end never came, is masked', () => {
    expect(maskTraceTail('MIIEpAIBAAKCAQEA1\nKEYMATERIAL\n-----END PRIVATE KEY-----\nok')).toBe('[MASKED]\nok');
    expect(maskTraceTail('ok\n-----BEGIN PRIVATE KEY-----\nKEYMATERIAL')).toBe('ok\n[MASKED]');
  });
});
