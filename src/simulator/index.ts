export { startSimulator, echoAnswer } from "./simulator.js";
export type {
  AnswerContext,
  FaultBase,
  FaultName,
  FaultOptions,
  Simulator,
  SimulatorEndpoint,
  SimulatorOptions,
  SimulatorRequestInfo,
  SimulatorStats,
  TestAccount,
} from "./types.js";
