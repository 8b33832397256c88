/**
 * Loaded by mocha before every test file (.mocharc.json): property tests run with a fixed seed, so a run is
 * repeatable and a failure replays (tests that pass their own seed keep it). Change the seed with
 * UDT_TEST_SEED=<n> to explore other inputs on purpose.
 */
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.UDT_TEST_SEED ?? 0x5eed1) });
