import { methodCell } from './define';

export default methodCell('vicreg', 'grad-mm', 'Feature-decorrelation gradient for VICReg (libs/losses/src/vicreg.ts documents the choice) with the momentum encoder.');
