import { methodCell } from './define';

export default methodCell('byol', 'grad-no-mm', 'Official DirectPred gradient (spec §3.3, A = F/s_max + ε²I) with stop-gradient online targets.');
