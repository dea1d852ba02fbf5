import { methodCell } from './define';

export default methodCell('unigrad', 'grad-mm', 'Official UniGrad gradient (spec §3.1, loss_unigrad): λ 100, ρ 0.99, F = EMA of the target correlation.');
