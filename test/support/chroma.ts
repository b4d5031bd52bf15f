const inCi = process.env.CI === 'true';

/** The Chroma server the tests use: CHROMA_URL (set by `.ci/run`, or by hand after `.ci/chroma.sh`), else null. */
export async function chromaUrl(): Promise<string | null> {
  const url = process.env.CHROMA_URL?.trim();
  return url ? url : null;
}

/**
 * Chroma's URL for a test file, checked with a heartbeat. Without a reachable server the caller skips
 * (`describe.skipIf(!url)`) after a loud warning, except under CI=true, where this throws.
 */
export async function requireChroma(): Promise<string | null> {
  const url = await chromaUrl();
  let why = 'CHROMA_URL is not set';
  if (url) {
    try {
      const res = await fetch(new URL('/api/v2/heartbeat', url), { signal: AbortSignal.timeout(5000) });
      if (res.ok) return url;
      why = `GET ${url}/api/v2/heartbeat answered ${res.status}`;
    } catch (err) {
      why = `no Chroma at ${url}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (inCi) throw new Error(`Chroma is required under CI=true: ${why}`);
  console.warn(`\n!!! Chroma tests SKIPPED: set CHROMA_URL or run .ci/chroma.sh (${why})\n`);
  return null;
}
