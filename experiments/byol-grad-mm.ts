import { methodCell } from './define';

export default methodCell('byol', 'grad-mm', 'Official DirectPred gradient (spec §3.3, loss_byol_directpred_grad) with the momentum encoder.');
