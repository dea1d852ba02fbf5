import { methodCell } from './define';

export default methodCell('simclr', 'grad-mm', 'Official contrastive gradient (spec §3.2, loss_simclr_grad_mm): 2N momentum-encoder candidates, τ 0.2.');
