/** jest runs the TypeScript sources through ts-jest as native ESM (node-llama-cpp is ESM-only). */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Every answer of the server under test is checked against the spec (issue 13).
  setupFilesAfterEnv: ["<rootDir>/test/setup-response-validation.ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.test.json" }],
  },
  testTimeout: 60000,
};
