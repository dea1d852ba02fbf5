export type { Mode, Network } from "./network";
