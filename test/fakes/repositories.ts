/** Repository contents the end-to-end tests put into the fake GitLab. */

/** A small Express service with `npm test` and a lockfile: the Node stack's usual first proposal. */
export const NODE_EXPRESS_FILES: Readonly<Record<string, string>> = {
  'package.json': `${JSON.stringify(
    {
      name: 'shop-api',
      version: '1.0.0',
      private: true,
      scripts: { start: 'node src/index.js', test: 'node --test' },
      dependencies: { express: '^4.19.2' },
    },
    null,
    2,
  )}\n`,
  'package-lock.json': `${JSON.stringify({ name: 'shop-api', version: '1.0.0', lockfileVersion: 3, requires: true, packages: {} }, null, 2)}\n`,
  'src/index.js': "const express = require('express');\nconst app = express();\napp.listen(3000);\n",
};
