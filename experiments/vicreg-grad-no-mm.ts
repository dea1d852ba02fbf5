import { methodCell } from './define';

export default methodCell('vicreg', 'grad-no-mm', 'Feature-decorrelation gradient for VICReg (libs/losses/src/vicreg.ts documents the choice) with stop-gradient online targets.');
