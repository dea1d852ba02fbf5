import { methodCell } from './define';

export default methodCell('simsiam', 'grad-mm', "DirectPred gradient (spec §3.3) with momentum-encoder targets; identical to BYOL's gradient form (spec §4.2).");
