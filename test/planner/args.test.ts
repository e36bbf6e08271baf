import { describePlannedConfig } from '../helpers/planned-config.ts';

describePlannedConfig('args');
