trigger LeadTrigger on Lead(after insert, after update) {
    if (Trigger.isInsert) {
        LeadTriggerHandler.afterInsert(Trigger.new);
    } else {
        LeadTriggerHandler.afterUpdate(Trigger.new, Trigger.oldMap);
    }
}
