import { methodCell } from './define';

export default methodCell('barlow_twins', 'original', 'Barlow Twins: standardised cross-correlation loss, λ 0.0051, both branches with gradient (spec §5).');
