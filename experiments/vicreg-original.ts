import { methodCell } from './define';

export default methodCell('vicreg', 'original', 'VICReg: 25·invariance + 25·variance + 1·covariance on raw projector outputs (spec §5).');
