import { methodCell } from './define';

export default methodCell('barlow_twins', 'grad-mm', 'Official decorrelation gradient (spec §3.4, loss_barlow_twins_grad_mm), λ 50, with the momentum encoder.');
