export { type ChannelPlace, describeChannelContract, type TestApi } from './channelContract.js';
export { SimClock } from './clock.js';
export { checkInvariants, type InvariantName, type InvariantViolation, type NamedReactor } from './invariants.js';
export { createLockManager } from './locks.js';
export { counterModel, demoModels, listModel } from './models.js';
export { TraceRecorder } from './recorder.js';
export {
  generateWorkload,
  parseScenario,
  runSteps,
  type Scenario,
  type ScenarioStep,
  scenarioSchema,
  simulationOptionsOf,
  type WorkloadOptions,
} from './scenario.js';
export {
  createSimulation,
  type ReactorRef,
  Simulation,
  SimulationError,
  type SimulationOptions,
  type SimulationSummary,
} from './simulation.js';
export { freshFakeStorage, type SimStorage } from './storage.js';
export { advanceTo, type RunOptions, runUntilBlocked, runUntilSettled, StalledError } from './time.js';
export { type Edge, edgesFor, TOPOLOGIES, type Topology } from './topology.js';
