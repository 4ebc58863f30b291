"""knox's TokenAuthentication, with one fix: a token that is not UTF-8 answers 401.

knox 5.1.0's ``authenticate_credentials`` calls ``token.decode("utf-8")`` on the raw header
bytes, so ``Authorization: Token \\xff`` raises UnicodeDecodeError: a 500 from every protected
route (measured by the checklist's hostile-input item). Fixed here rather than left as a server error."""

from knox.auth import TokenAuthentication
from rest_framework import exceptions


class Utf8TokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)
