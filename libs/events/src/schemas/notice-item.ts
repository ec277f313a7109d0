import { Type, type Static } from '@sinclair/typebox';
import { CaseId, CaseKey, DateTime, NormalisedUrl, ReportId } from './common';

/** One reported URL in a notice, with the moment it must be gone. */
export const NoticeItem = Type.Object(
  {
    reportId: ReportId,
    caseKey: CaseKey,
    caseId: Type.Optional(CaseId),
    url: NormalisedUrl,
    deadlineAt: DateTime,
  },
  { additionalProperties: false },
);
export type NoticeItemValue = Static<typeof NoticeItem>;
