//! keepalived.conf lexer, parser and typed model (filled by the keepalived-conf work).
