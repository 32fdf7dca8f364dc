// The sidecar's score and worklist answers in the shapes Salesforce stores and Apex returns.

/** "Model" / "Rules", as in Score_Source__c. */
export function sourceLabel(source) {
  if (!source) {
    return null;
  }
  return source.toLowerCase() === 'rules' ? 'Rules' : 'Model';
}

/** Next_Best_Action__c is "<label>: <rationale>"; the sidecar sends { label, rationale }. */
export function nextBestActionText(action) {
  if (!action) {
    return null;
  }
  if (typeof action === 'string') {
    return action;
  }
  return action.rationale ? `${action.label}: ${action.rationale}` : action.label;
}

/** Signed reason lines ("+ …", "- …"), strongest first. */
export function reasonLinesOf(score) {
  if (Array.isArray(score.reasonLines)) {
    return score.reasonLines;
  }
  return (score.reasons || []).map((reason) =>
    typeof reason === 'string' ? reason : `${reason.direction === 'negative' ? '-' : '+'} ${reason.text}`,
  );
}

/** A POST /v1/score entry as the Lead score fields leadScoreCard reads. */
export function scoreFields(score) {
  return {
    Lead_Score__c: score.score,
    Score_Band__c: score.band,
    Score_Reasons__c: reasonLinesOf(score).join('\n'),
    Next_Best_Action__c: nextBestActionText(score.nextBestAction),
    Score_Source__c: sourceLabel(score.source),
    Scored_At__c: score.scoredAt,
    Score_Model_Version__c: score.modelVersion,
  };
}

/**
 * WorklistController.Worklist from a GET /v1/worklists answer and the leads' names and companies, which come
 * from the org (the sidecar holds no PII); leads the org does not return drop out, as in Apex.
 */
export function worklistFromSidecar(answer, leadsById) {
  const items = [];
  for (const entry of answer.items || []) {
    const lead = leadsById.get(entry.leadId);
    if (!lead) {
      continue;
    }
    items.push({
      leadId: entry.leadId,
      rank: entry.rank,
      name: lead.Name,
      company: lead.Company,
      score: entry.score,
      band: entry.band,
      reasons: reasonLinesOf(entry),
      nextBestAction: nextBestActionText(entry.nextBestAction),
      source: sourceLabel(entry.source),
      scoredAt: entry.scoredAt || null,
    });
  }
  return { source: 'Model', notice: null, items };
}

/** WorklistController.getRulesWorklist's shape from Lead records ordered by their stored score. */
export function worklistFromStoredScores(leads) {
  return {
    source: 'Rules',
    notice: null,
    items: leads.map((lead, index) => ({
      leadId: lead.Id,
      rank: index + 1,
      name: lead.Name,
      company: lead.Company,
      score:
        lead.Lead_Score__c === null || lead.Lead_Score__c === undefined
          ? null
          : Math.trunc(lead.Lead_Score__c),
      band: lead.Score_Band__c,
      reasons: lead.Score_Reasons__c ? lead.Score_Reasons__c.split('\n') : [],
      nextBestAction: lead.Next_Best_Action__c,
      source: lead.Score_Source__c,
      scoredAt: lead.Scored_At__c,
    })),
  };
}
