// Where the PostgreSQL test server of the CTest fixture `postgresql`
// (tools/pg-test-server.sh) listens: `PUZZLE_TEST_PG_URL` when set, else
// the `url` file in `PUZZLE_TEST_PG_DIR`. Answers `{url}`, or `{problem}`
// saying why there is none, so that a test can skip loudly with it.

import fs from 'node:fs';
import path from 'node:path';

export function testServerUrl() {
  if (process.env.PUZZLE_TEST_PG_URL) return { url: process.env.PUZZLE_TEST_PG_URL };
  const dir = process.env.PUZZLE_TEST_PG_DIR;
  if (!dir) {
    return {
      problem: 'no PostgreSQL test server: run through ctest (fixture `postgresql`, ' +
        'tools/pg-test-server.sh) or set PUZZLE_TEST_PG_URL',
    };
  }
  try {
    return { url: fs.readFileSync(path.join(dir, 'url'), 'utf8').trim() };
  } catch (err) {
    return {
      problem: `PUZZLE_TEST_PG_DIR=${dir} holds no url (${err.code}): the fixture ` +
        'services.postgresql.start did not start the server; see its output',
    };
  }
}
