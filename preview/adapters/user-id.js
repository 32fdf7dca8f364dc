// @salesforce/user/Id: the rep the page was opened for (?rep=); the picker changes getRunningUserId() instead.
import { getRunningUserId } from './session';

export default getRunningUserId();
