-- Each org's list of archive reasons (Greenhouse's rejection reasons, Ashby's archive reasons):
-- `archiveApplication` takes a reason from this list, in the order an admin set it
-- (`setArchiveReasons`, which replaces the whole list). An org without rows uses the default
-- list (`store::DEFAULT_ARCHIVE_REASONS`). Reasons are unique per org regardless of case, which
-- the store checks when it writes the list. Like the privacy settings, the list is the org's
-- configuration, outside the interchange format, and survives an org's replacement: no foreign
-- key to `orgs` (the store checks the org in the transaction that writes). Applications keep the
-- reason's text, so removing a reason from the list changes no archived application.
CREATE TABLE archive_reasons (
    org_id    text COLLATE "C" NOT NULL,
    position  integer NOT NULL CHECK (position >= 1),
    reason    text NOT NULL CHECK (length(trim(reason)) > 0),
    PRIMARY KEY (org_id, position)
);
