// `npm run lint`: ESLint with the Next.js rules (React, hooks, accessibility, imports) and
// typescript-eslint's recommended set, for the whole repository (`npm test` runs it first).
import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  globalIgnores(["node_modules/**", ".next/**", "lib/db/generated/**", "test-artifacts/**", "scratch/**", "next-env.d.ts"]),
  {
    rules: {
      // a leading underscore marks what is left out on purpose (`const { secret: _omit, ...rest }`)
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // standard library and packages first, then the project's own modules, each group sorted
      "import/order": [
        "error",
        {
          groups: [
            ["builtin", "external"],
            ["internal", "parent", "sibling", "index"],
          ],
          alphabetize: { order: "asc", caseInsensitive: true },
        },
      ],
    },
  },
  {
    // React lives in app/ only; elsewhere a `use…` name (useTestDatabase, useConfig) is not a hook
    files: ["lib/**", "mailer/**", "cli/**", "scripts/**", "test/**"],
    rules: { "react-hooks/rules-of-hooks": "off" },
  },
]);
