import { methodCell } from './define';

export default methodCell('barlow_twins', 'grad-no-mm', 'Official decorrelation gradient (spec §3.4), factor 2, divided by the configured batch, stop-gradient online targets.');
