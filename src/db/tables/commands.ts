// Table types of the commands area; the owner of that area fills this in with its migration (0004_commands).
// biome-ignore lint/suspicious/noEmptyInterface: filled by the area's owner
export interface CommandTables {}
