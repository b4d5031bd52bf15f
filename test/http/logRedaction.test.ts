import { describe, expect, it } from 'vitest';
import { GitLabError } from '../../src/gitlab/GitLab.js';
import { scrubSecrets } from '../../src/log.js';
import { captureLogger } from '../intake/helpers.js';

describe('logs', () => {
  it('never carry tokens: by field name, inside error messages, or as configured values', () => {
    const cap = captureLogger(['configured-secret-value']);
    cap.log.info(
      {
        headers: { 'x-gitlab-token': 'hdr-secret-1', 'job-token': 'hdr-secret-2', 'private-token': 'hdr-secret-3' },
        req: { headers: { authorization: 'Bearer hdr-secret-4' } },
        gitlab_token: 'body-secret-5',
      },
      'request with configured-secret-value',
    );
    const err = new GitLabError(
      'GET http://gitlab/api/v4/job failed; PRIVATE-TOKEN: glpat-abcdefghijklmnop JOB-TOKEN=jobtok123456',
      500,
    );
    cap.log.error({ err }, 'boom');
    const text = cap.text();
    for (const s of [
      'hdr-secret-1',
      'hdr-secret-2',
      'hdr-secret-3',
      'hdr-secret-4',
      'body-secret-5',
      'configured-secret-value',
      'glpat-abcdefghijklmnop',
      'jobtok123456',
    ]) {
      expect(text).not.toContain(s);
    }
    expect(text).toContain('GET http://gitlab/api/v4/job failed');
  });

  it('scrubs passwords in URLs', () => {
    expect(scrubSecrets('postgres://app:hunter2@db:5432/x')).toBe('postgres://app:[redacted]@db:5432/x');
  });
});

describe('logged errors', () => {
  it('keep kind, message and codes, never the data a driver hangs on them (statement parameters, query)', () => {
    const cap = captureLogger();
    const err = Object.assign(new Error('unsupported Unicode escape sequence'), {
      code: '22P05',
      severity: 'ERROR',
      query: 'insert into webhook_deliveries … payload-in-query-8842',
      parameters: ['{"note":"payload-in-parameters-8842"}'],
      args: ['payload-in-args-8842'],
      detail: 'payload-in-detail-8842',
    });
    cap.log.error({ err }, 'request failed');
    const text = cap.text();
    expect(text).not.toContain('8842');
    const line = JSON.parse(cap.lines[0]!) as { err: Record<string, unknown> };
    expect(line.err).toMatchObject({ type: 'Error', message: 'unsupported Unicode escape sequence', code: '22P05' });
  });
});
