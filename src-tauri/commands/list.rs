/// Every IPC command: the build script generates one `allow-<command>`
/// permission per entry, and `commands` registers exactly these.
pub const COMMANDS: &[&str] = &[
    "status",
    "sync_now",
    "keys",
    "create_key",
    "import_key",
    "export_backup",
    "delete_key",
    "rotate_key",
    "registration_request",
    "prepare_signature",
    "confirm_signature",
    "outbox",
    "inbox",
    "set_nodes",
    "test_node",
    "acknowledge_alarm",
    "cases",
    "case_detail",
    "projects",
    "project_detail",
];
