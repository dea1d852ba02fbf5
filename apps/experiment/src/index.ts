export { cellTags, isComplete, runCell } from './cell';
export type { CellOutcome } from './cell';
