-- Which stage kinds each application has ever entered, as a bitmask over the stage kinds in the
-- format's order (lead 1, application_review 2, screen 4, assessment 8, interview 16, onsite 32,
-- offer 64, hired 128). Derived from stage_transitions by the store (on import, and by every
-- change of an application's stage), so that reports ask "reached a stage kind" without reading
-- the history: a funnel over a million applications is one scan.
CREATE TABLE application_stage_kinds (
    org_id          text COLLATE "C" NOT NULL,
    application_id  text COLLATE "C" NOT NULL,
    reached_kinds   integer NOT NULL,
    PRIMARY KEY (org_id, application_id),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id)
);
