// A bad feature spec stops start-up with an error naming the file, the line and the field.
import { describe, expect, it } from 'vitest';
import {
  interpretSpec,
  parseFeatureConfig,
  trainingTarget,
  type DescribeField,
} from '../src/features/index.js';

const spec = (features: string, extra = '') => `{
  "specVersion": 1,
  "name": "t",
  "target": "lead",
  "object": "Lead",
  "eventTypes": ["web_visit"],
  "calendar": false,${extra}
  "features": [
${features}
  ]
}
`;
const feature = (body: string) => `    { "name": "f", "description": "d", ${body} }`;

describe('feature spec loading', () => {
  it('reads the snapshot schedule and horizon as configuration, and names a bad one by line and field', () => {
    const f = feature('"source": { "field": "Industry" }, "transform": { "kind": "categorical" }');
    const ok = parseFeatureConfig(
      spec(f, '\n  "snapshots": { "firstAfterDays": 3, "intervalDays": 14, "horizonDays": 60 },'),
      'ok.json',
    );
    expect(ok.snapshots).toEqual({ firstAfterDays: 3, intervalDays: 14, horizonDays: 60 });
    expect(() =>
      parseFeatureConfig(
        spec(f, '\n  "snapshots": { "firstAfterDays": 3, "intervalDays": 0, "horizonDays": 60 },'),
        'bad.json',
      ),
    ).toThrow(/^bad\.json:8:\d+: snapshots\.intervalDays: /);
    expect(() =>
      parseFeatureConfig(
        spec(
          f,
          '\n  "snapshots": { "firstAfterDays": 1, "intervalDays": 7, "horizonDays": 30 },' +
            '\n  "training": { "timeField": "CreatedDate", "outcome": { "field": "Status", "positive": ["Won"] } },',
        ),
        'both.json',
      ),
    ).toThrow(/both\.json:8:\d+: snapshots: a spec has either "training"/);
  });

  it('resolves the training target: defaults, the time axis, a schedule and a custom outcome with its date', () => {
    const f = feature('"source": { "field": "Industry" }, "transform": { "kind": "categorical" }');
    const target = (training: string) =>
      trainingTarget(parseFeatureConfig(spec(f, `\n  "training": ${training},`), 't.json'));
    expect(trainingTarget(parseFeatureConfig(spec(f), 'none.json'))).toEqual({
      builder: 'snapshots',
      timeField: 'CreatedDate',
      outcome: 'converted',
      horizonDays: 30,
      schedule: { firstAfterDays: 1, intervalDays: 7 },
    });
    expect(target('{ "outcome": "converted" }')).toEqual(
      trainingTarget(parseFeatureConfig(spec(f), 'none.json')),
    );
    expect(
      target(
        '{ "outcome": { "field": "Stage__c", "positive": ["SQL"], "positiveAtField": "SQL_Date__c" }, ' +
          '"timeField": "First_Touch__c", "horizonDays": 60, ' +
          '"snapshots": { "firstAfterDays": 0, "intervalDays": 14, "maxSnapshots": 4 } }',
      ),
    ).toEqual({
      builder: 'snapshots',
      timeField: 'First_Touch__c',
      outcome: { field: 'Stage__c', positive: ['SQL'], positiveAtField: 'SQL_Date__c' },
      horizonDays: 60,
      schedule: { firstAfterDays: 0, intervalDays: 14, maxSnapshots: 4 },
    });
    // An outcome field without snapshots is the record target (one snapshot per record at its time field).
    expect(target('{ "outcome": { "field": "Status", "positive": ["Won"] } }')).toMatchObject({
      builder: 'record',
      timeField: 'CreatedDate',
    });
    // The earlier top-level form is the same as training.snapshots with "converted".
    expect(
      trainingTarget(
        parseFeatureConfig(
          spec(f, '\n  "snapshots": { "firstAfterDays": 3, "intervalDays": 14, "horizonDays": 60 },'),
          'old.json',
        ),
      ),
    ).toEqual(
      target(
        '{ "outcome": "converted", "horizonDays": 60, "snapshots": { "firstAfterDays": 3, "intervalDays": 14 } }',
      ),
    );
  });

  it('refuses a training target that is ambiguous or leaks, naming file, line and field', () => {
    const f = feature('"source": { "field": "Industry" }, "transform": { "kind": "categorical" }');
    const parse = (training: string, features = f) =>
      parseFeatureConfig(spec(features, `\n  "training": ${training},`), 'target.json');
    // A custom snapshot outcome without a date field is read from the field's history (LeadHistory).
    const fromHistory = parse(
      '{ "outcome": { "field": "Stage__c", "positive": ["SQL"] }, "snapshots": { "firstAfterDays": 1, "intervalDays": 7 } }',
    );
    expect(trainingTarget(fromHistory)).toMatchObject({
      builder: 'snapshots',
      outcome: { field: 'Stage__c', positive: ['SQL'] },
    });
    expect(() =>
      parse('{ "outcome": "converted", "snapshots": { "firstAfterDays": 1, "intervalDays": 0 } }'),
    ).toThrow(/^target\.json:8:\d+: training\.snapshots\.intervalDays: /);
    expect(() =>
      parse(
        '{ "outcome": "converted", "snapshots": { "firstAfterDays": 1, "intervalDays": 7, "maxSnapshots": 0 } }',
      ),
    ).toThrow(/training\.snapshots\.maxSnapshots: /);
    expect(() => parse('{ "outcome": "won" }')).toThrow(/^target\.json:8:\d+: training\.outcome: /);
    expect(() => parse('{ "outcome": "converted", "segments": { "region": "Country" } }')).toThrow(
      /training\.segments: segments are fixed by the snapshot builder/,
    );
    const leaky = feature('"source": { "field": "SQL_Date__c" }, "transform": { "kind": "present" }');
    expect(() =>
      parse(
        '{ "outcome": { "field": "Stage__c", "positive": ["SQL"], "positiveAtField": "SQL_Date__c" }, "snapshots": { "firstAfterDays": 1, "intervalDays": 7 } }',
        leaky,
      ),
    ).toThrow(/^target\.json:10:\d+: features\[0\]\.source\.field: SQL_Date__c is the training outcome/);
  });

  it('accepts a spec and interprets each transform', () => {
    const config = parseFeatureConfig(
      spec(
        [
          feature(
            '"source": { "field": "NumberOfEmployees" }, "transform": { "kind": "numeric", "log": true, "clip": { "max": 999 } }',
          ),
          feature(
            '"source": { "field": "Industry" }, "transform": { "kind": "categorical", "caseFold": true, "topK": 2, "other": true }',
          ).replace('"f"', '"g"'),
          feature(
            '"source": { "field": "AnnualRevenue" }, "transform": { "kind": "ratio", "denominator": { "field": "NumberOfEmployees" } }',
          ).replace('"f"', '"h"'),
          feature('"source": { "field": "Score__c" }, "transform": { "kind": "numeric" }').replace(
            '"f"',
            '"k"',
          ),
        ].join(',\n'),
      ),
      'x.json',
    );
    const defs = interpretSpec(config);
    const lead = { NumberOfEmployees: 4000, Industry: 'ReTail', AnnualRevenue: 8000, Score__c: '7' };
    const inputs = { lead, events: null, erp: null, marketing: null } as never;
    expect(defs.map((d) => d.compute(inputs, 0))).toEqual([Math.log1p(999), 'retail', 2, 7]);
    expect(defs[1]!.categoryPolicy).toEqual({ topK: 2, other: true });
  });

  it.each([
    [
      'invalid JSON',
      spec(feature('"source": { "field": "Industry" } "transform": {}')),
      /x\.json:9:\d+: invalid JSON/,
    ],
    [
      'an unknown transform',
      spec(feature('"source": { "field": "Industry" }, "transform": { "kind": "sqrt" }')),
      /x\.json:9:\d+: features\[0\]\.transform\.kind: /,
    ],
    [
      'an unknown field',
      spec(feature('"source": { "field": "Shoe_Size" }, "transform": { "kind": "numeric" }')),
      /x\.json:9:\d+: features\[0\]\.source\.field: unknown Lead field "Shoe_Size"/,
    ],
    [
      'an undeclared event type',
      spec(feature('"source": { "events": "form_fill" }, "transform": { "kind": "event-total" }')),
      /x\.json:9:\d+: features\[0\]\.source\.events: event type "form_fill" is not in eventTypes/,
    ],
    [
      'an unknown extract column',
      spec(feature('"source": { "extract": "erp", "column": "margin" }, "transform": { "kind": "numeric" }')),
      /features\[0\]\.source\.column: unknown erp extract column "margin"/,
    ],
    [
      'a PII field selected raw',
      spec(feature('"source": { "field": "Email" }, "transform": { "kind": "categorical" }')),
      /x\.json:9:\d+: features\[0\]\.source\.field: Email is PII: refused as a model input/,
    ],
    [
      'an unknown key',
      spec(feature('"source": { "field": "Industry" }, "transform": { "kind": "boolean" }, "weight": 2')),
      /features\[0\]: Unrecognized key: "weight"/,
    ],
  ])('refuses %s, naming file, line and field', (_what, text, message) => {
    expect(() => parseFeatureConfig(text, 'x.json')).toThrow(message);
  });

  it('accepts a PII field only with a recorded override reason', () => {
    const text = spec(
      feature(
        '"source": { "field": "Email" }, "transform": { "kind": "categorical" }, "override": { "reason": "domain list audited by DPO 2026-11" }',
      ),
    );
    expect(interpretSpec(parseFeatureConfig(text, 'x.json'))[0]!.override).toBe(
      'domain list audited by DPO 2026-11',
    );
  });

  describe('against an org describe', () => {
    const describeFields: DescribeField[] = [
      { name: 'Industry', type: 'picklist' },
      { name: 'Budget__c', type: 'currency' },
      { name: 'Notes__c', type: 'string', securityClassification: 'Confidential' },
      { name: 'Tax_Id__c', type: 'encryptedstring', encrypted: true },
    ];
    const check = (body: string) => () =>
      parseFeatureConfig(spec(feature(body)), 'x.json', { describe: describeFields });

    it('refuses a field the org does not have', () => {
      expect(check('"source": { "field": "Budget2__c" }, "transform": { "kind": "numeric" }')).toThrow(
        /features\[0\]\.source\.field: unknown Lead field "Budget2__c" \(not in the org's describe\)/,
      );
    });
    it('refuses a type that does not match describe', () => {
      expect(
        check('"source": { "field": "Budget__c", "type": "string" }, "transform": { "kind": "numeric" }'),
      ).toThrow(/Budget__c is of type currency in the org, the spec says string/);
      expect(check('"source": { "field": "Industry" }, "transform": { "kind": "numeric" }')).toThrow(
        /features\[0\]\.transform\.kind: numeric cannot read Industry \(type picklist\)/,
      );
    });
    it('refuses classified and encrypted fields, naming why', () => {
      expect(check('"source": { "field": "Notes__c" }, "transform": { "kind": "categorical" }')).toThrow(
        /Notes__c is classified Confidential/,
      );
      expect(check('"source": { "field": "Tax_Id__c" }, "transform": { "kind": "categorical" }')).toThrow(
        /Tax_Id__c is Shield-encrypted/,
      );
    });
  });
});
