import { methodCell } from './define';

export default methodCell('simsiam', 'grad-no-mm', "DirectPred gradient (spec §3.3) with target = stop-gradient online embedding: SimSiam's gradient form (spec §4.2).");
