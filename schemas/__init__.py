"""The wire shapes: one pydantic module per context (auth, files, chat) plus the shared ones
(errors, pages). HTTP responses, Socket.IO payloads and the broadcaster all serialize through
them, so a shape is declared once. Imports only pydantic, the standard library and domain/."""
