trigger ScoreHistoryTrigger on Score_History__c(before insert, before update, before delete) {
    if (Trigger.isInsert) {
        ScoreHistoryGuard.beforeInsert(Trigger.new);
    } else if (Trigger.isUpdate) {
        ScoreHistoryGuard.beforeUpdate(Trigger.new, Trigger.oldMap);
    } else {
        ScoreHistoryGuard.beforeDelete(Trigger.old);
    }
}
