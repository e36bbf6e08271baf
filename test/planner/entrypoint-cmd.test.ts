import { describePlannedConfig } from '../helpers/planned-config.ts';

describePlannedConfig('entrypoint-cmd');
