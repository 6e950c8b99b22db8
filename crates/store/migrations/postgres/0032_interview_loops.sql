-- The interview loops booked through `bookInterviewLoop`, kept so that a loop can be repaired
-- later (`applyInterviewLoopRepair`) from what the store holds rather than from what a client
-- remembers: the plan the option came from (as given, JSON), the option as booked (JSON, the
-- form `schedulingOptions` answers), and the interviews booked for its sessions (JSON array of
-- ids, in session order). A repair writes a new row for the repaired loop and marks this one
-- replaced (`replaced_by`), in the transaction that cancels and books. Outside the interchange
-- format: an import neither reads nor writes it, and replacing an org deletes its rows (its
-- interviews are gone). No foreign keys: the rows name interviews by id, and a loop whose
-- interviews are no longer all scheduled is simply not offered for repair.
CREATE TABLE interview_loops (
    org_id          text COLLATE "C" NOT NULL,
    id              text COLLATE "C" NOT NULL,
    application_id  text COLLATE "C" NOT NULL,
    stage_id        text COLLATE "C" NOT NULL,
    plan            text NOT NULL,
    booked          text NOT NULL,
    interview_ids   text NOT NULL,
    booked_at       timestamptz NOT NULL,
    booked_by       text COLLATE "C",
    replaced_by     text COLLATE "C",
    PRIMARY KEY (org_id, id)
);
CREATE INDEX interview_loops_application ON interview_loops (org_id, application_id);
