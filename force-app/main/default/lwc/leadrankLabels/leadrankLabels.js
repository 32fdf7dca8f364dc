// Every string the Leadrank components show, as Custom Labels (translatable, overridable by admins).
// Keys are the label names without the Leadrank_ prefix. jest maps this module to a reader of the
// CustomLabels file (force-app/test/jest-mocks/leadrankLabels.js), so tests see the real texts.
import LEADRANK_BAND from '@salesforce/label/c.Leadrank_Band';
import LEADRANK_CARD_TITLE from '@salesforce/label/c.Leadrank_Card_Title';
import LEADRANK_COLUMN_BAND from '@salesforce/label/c.Leadrank_Column_Band';
import LEADRANK_COLUMN_CHANGE from '@salesforce/label/c.Leadrank_Column_Change';
import LEADRANK_COLUMN_CYCLE from '@salesforce/label/c.Leadrank_Column_Cycle';
import LEADRANK_COLUMN_MODEL_VERSION from '@salesforce/label/c.Leadrank_Column_Model_Version';
import LEADRANK_COLUMN_REASONS from '@salesforce/label/c.Leadrank_Column_Reasons';
import LEADRANK_COLUMN_SCORE from '@salesforce/label/c.Leadrank_Column_Score';
import LEADRANK_COLUMN_SCORED_AT from '@salesforce/label/c.Leadrank_Column_Scored_At';
import LEADRANK_COLUMN_SOURCE from '@salesforce/label/c.Leadrank_Column_Source';
import LEADRANK_DEAL_CARD_TITLE from '@salesforce/label/c.Leadrank_Deal_Card_Title';
import LEADRANK_DEAL_NOT_SCORED from '@salesforce/label/c.Leadrank_Deal_Not_Scored';
import LEADRANK_DEAL_WHY_HIGH from '@salesforce/label/c.Leadrank_Deal_Why_High';
import LEADRANK_DAYS_AGO from '@salesforce/label/c.Leadrank_Days_Ago';
import LEADRANK_FIRST_SCORE from '@salesforce/label/c.Leadrank_First_Score';
import LEADRANK_HIDE_REASONS from '@salesforce/label/c.Leadrank_Hide_Reasons';
import LEADRANK_HISTORY_EMPTY from '@salesforce/label/c.Leadrank_History_Empty';
import LEADRANK_HISTORY_LOAD_FAILED from '@salesforce/label/c.Leadrank_History_Load_Failed';
import LEADRANK_HISTORY_TITLE from '@salesforce/label/c.Leadrank_History_Title';
import LEADRANK_HOLDS_BACK from '@salesforce/label/c.Leadrank_Holds_Back';
import LEADRANK_HOURS_AGO from '@salesforce/label/c.Leadrank_Hours_Ago';
import LEADRANK_JUST_NOW from '@salesforce/label/c.Leadrank_Just_Now';
import LEADRANK_LOG_AS_DONE from '@salesforce/label/c.Leadrank_Log_As_Done';
import LEADRANK_LOG_FAILED from '@salesforce/label/c.Leadrank_Log_Failed';
import LEADRANK_LOGGED from '@salesforce/label/c.Leadrank_Logged';
import LEADRANK_LOGGED_MESSAGE from '@salesforce/label/c.Leadrank_Logged_Message';
import LEADRANK_MINUTES_AGO from '@salesforce/label/c.Leadrank_Minutes_Ago';
import LEADRANK_NEXT_STEP from '@salesforce/label/c.Leadrank_Next_Step';
import LEADRANK_NO_ACCESS from '@salesforce/label/c.Leadrank_No_Access';
import LEADRANK_NO_NEGATIVE from '@salesforce/label/c.Leadrank_No_Negative';
import LEADRANK_NO_POSITIVE from '@salesforce/label/c.Leadrank_No_Positive';
import LEADRANK_NOT_SCORED from '@salesforce/label/c.Leadrank_Not_Scored';
import LEADRANK_ONE_DAY_AGO from '@salesforce/label/c.Leadrank_One_Day_Ago';
import LEADRANK_RULES_BADGE from '@salesforce/label/c.Leadrank_Rules_Badge';
import LEADRANK_RULES_BADGE_HELP from '@salesforce/label/c.Leadrank_Rules_Badge_Help';
import LEADRANK_SCORE_LOAD_FAILED from '@salesforce/label/c.Leadrank_Score_Load_Failed';
import LEADRANK_SCORED from '@salesforce/label/c.Leadrank_Scored';
import LEADRANK_SCORED_STALE from '@salesforce/label/c.Leadrank_Scored_Stale';
import LEADRANK_SCORED_UNKNOWN from '@salesforce/label/c.Leadrank_Scored_Unknown';
import LEADRANK_SETUP_LAST_CYCLE from '@salesforce/label/c.Leadrank_Setup_Last_Cycle';
import LEADRANK_SETUP_LOAD_FAILED from '@salesforce/label/c.Leadrank_Setup_Load_Failed';
import LEADRANK_SETUP_NAMESPACE from '@salesforce/label/c.Leadrank_Setup_Namespace';
import LEADRANK_SETUP_NO_CYCLE from '@salesforce/label/c.Leadrank_Setup_No_Cycle';
import LEADRANK_SETUP_OPEN_ISSUES from '@salesforce/label/c.Leadrank_Setup_Open_Issues';
import LEADRANK_SETUP_REFRESH from '@salesforce/label/c.Leadrank_Setup_Refresh';
import LEADRANK_SETUP_REGION_NOT_READY from '@salesforce/label/c.Leadrank_Setup_Region_Not_Ready';
import LEADRANK_SETUP_REGION_READY from '@salesforce/label/c.Leadrank_Setup_Region_Ready';
import LEADRANK_SETUP_RETENTION_OFF from '@salesforce/label/c.Leadrank_Setup_Retention_Off';
import LEADRANK_SETUP_RETENTION_ON from '@salesforce/label/c.Leadrank_Setup_Retention_On';
import LEADRANK_SETUP_TITLE from '@salesforce/label/c.Leadrank_Setup_Title';
import LEADRANK_SETUP_UNPACKAGED from '@salesforce/label/c.Leadrank_Setup_Unpackaged';
import LEADRANK_SHOW_REASONS from '@salesforce/label/c.Leadrank_Show_Reasons';
import LEADRANK_TOGGLE_FOR from '@salesforce/label/c.Leadrank_Toggle_For';
import LEADRANK_TREND from '@salesforce/label/c.Leadrank_Trend';
import LEADRANK_UNKNOWN_ERROR from '@salesforce/label/c.Leadrank_Unknown_Error';
import LEADRANK_WHY_HIGH from '@salesforce/label/c.Leadrank_Why_High';
import LEADRANK_WORKLIST_ARIA from '@salesforce/label/c.Leadrank_Worklist_Aria';
import LEADRANK_WORKLIST_EMPTY from '@salesforce/label/c.Leadrank_Worklist_Empty';
import LEADRANK_WORKLIST_LOAD_FAILED from '@salesforce/label/c.Leadrank_Worklist_Load_Failed';
import LEADRANK_WORKLIST_LOADING from '@salesforce/label/c.Leadrank_Worklist_Loading';
import LEADRANK_WORKLIST_REFRESH from '@salesforce/label/c.Leadrank_Worklist_Refresh';
import LEADRANK_WORKLIST_TITLE from '@salesforce/label/c.Leadrank_Worklist_Title';

export const LABELS = {
  Band: LEADRANK_BAND,
  Card_Title: LEADRANK_CARD_TITLE,
  Column_Band: LEADRANK_COLUMN_BAND,
  Column_Change: LEADRANK_COLUMN_CHANGE,
  Column_Cycle: LEADRANK_COLUMN_CYCLE,
  Column_Model_Version: LEADRANK_COLUMN_MODEL_VERSION,
  Column_Reasons: LEADRANK_COLUMN_REASONS,
  Column_Score: LEADRANK_COLUMN_SCORE,
  Column_Scored_At: LEADRANK_COLUMN_SCORED_AT,
  Column_Source: LEADRANK_COLUMN_SOURCE,
  Deal_Card_Title: LEADRANK_DEAL_CARD_TITLE,
  Deal_Not_Scored: LEADRANK_DEAL_NOT_SCORED,
  Deal_Why_High: LEADRANK_DEAL_WHY_HIGH,
  Days_Ago: LEADRANK_DAYS_AGO,
  First_Score: LEADRANK_FIRST_SCORE,
  Hide_Reasons: LEADRANK_HIDE_REASONS,
  History_Empty: LEADRANK_HISTORY_EMPTY,
  History_Load_Failed: LEADRANK_HISTORY_LOAD_FAILED,
  History_Title: LEADRANK_HISTORY_TITLE,
  Holds_Back: LEADRANK_HOLDS_BACK,
  Hours_Ago: LEADRANK_HOURS_AGO,
  Just_Now: LEADRANK_JUST_NOW,
  Log_As_Done: LEADRANK_LOG_AS_DONE,
  Log_Failed: LEADRANK_LOG_FAILED,
  Logged: LEADRANK_LOGGED,
  Logged_Message: LEADRANK_LOGGED_MESSAGE,
  Minutes_Ago: LEADRANK_MINUTES_AGO,
  Next_Step: LEADRANK_NEXT_STEP,
  No_Access: LEADRANK_NO_ACCESS,
  No_Negative: LEADRANK_NO_NEGATIVE,
  No_Positive: LEADRANK_NO_POSITIVE,
  Not_Scored: LEADRANK_NOT_SCORED,
  One_Day_Ago: LEADRANK_ONE_DAY_AGO,
  Rules_Badge: LEADRANK_RULES_BADGE,
  Rules_Badge_Help: LEADRANK_RULES_BADGE_HELP,
  Score_Load_Failed: LEADRANK_SCORE_LOAD_FAILED,
  Scored: LEADRANK_SCORED,
  Scored_Stale: LEADRANK_SCORED_STALE,
  Scored_Unknown: LEADRANK_SCORED_UNKNOWN,
  Setup_Last_Cycle: LEADRANK_SETUP_LAST_CYCLE,
  Setup_Load_Failed: LEADRANK_SETUP_LOAD_FAILED,
  Setup_Namespace: LEADRANK_SETUP_NAMESPACE,
  Setup_No_Cycle: LEADRANK_SETUP_NO_CYCLE,
  Setup_Open_Issues: LEADRANK_SETUP_OPEN_ISSUES,
  Setup_Refresh: LEADRANK_SETUP_REFRESH,
  Setup_Region_Not_Ready: LEADRANK_SETUP_REGION_NOT_READY,
  Setup_Region_Ready: LEADRANK_SETUP_REGION_READY,
  Setup_Retention_Off: LEADRANK_SETUP_RETENTION_OFF,
  Setup_Retention_On: LEADRANK_SETUP_RETENTION_ON,
  Setup_Title: LEADRANK_SETUP_TITLE,
  Setup_Unpackaged: LEADRANK_SETUP_UNPACKAGED,
  Show_Reasons: LEADRANK_SHOW_REASONS,
  Toggle_For: LEADRANK_TOGGLE_FOR,
  Trend: LEADRANK_TREND,
  Unknown_Error: LEADRANK_UNKNOWN_ERROR,
  Why_High: LEADRANK_WHY_HIGH,
  Worklist_Aria: LEADRANK_WORKLIST_ARIA,
  Worklist_Empty: LEADRANK_WORKLIST_EMPTY,
  Worklist_Load_Failed: LEADRANK_WORKLIST_LOAD_FAILED,
  Worklist_Loading: LEADRANK_WORKLIST_LOADING,
  Worklist_Refresh: LEADRANK_WORKLIST_REFRESH,
  Worklist_Title: LEADRANK_WORKLIST_TITLE,
};

/** 'Scored {0}' with '12 min ago' → 'Scored 12 min ago'. */
export function format(template, ...values) {
  return String(template).replace(/\{(\d+)\}/g, (match, index) => {
    const value = values[Number(index)];
    return value === undefined ? match : String(value);
  });
}
