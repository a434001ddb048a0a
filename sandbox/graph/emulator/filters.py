"""A small, honest subset of OData $filter on users, as Microsoft Graph answers it without advanced queries.

Supported: `eq` on userPrincipalName, mail, department (strings, compared case-insensitively) and accountEnabled
(true/false); `startswith(userPrincipalName,'x')` and `startswith(displayName,'x')`; joined with `and`, `or` and
parentheses. Anything else is refused with 400 `Request_UnsupportedQuery`, as Graph refuses a filter clause it
does not support (https://learn.microsoft.com/graph/filter-query-parameter,
https://learn.microsoft.com/graph/aad-advanced-queries); text that does not parse is 400 `BadRequest`
"Invalid filter clause".
"""
import re

from .errors import GraphError

EQ_PROPERTIES = {"userprincipalname": "userPrincipalName", "mail": "mail", "department": "department",
                 "accountenabled": "accountEnabled"}
STARTSWITH_PROPERTIES = {"userprincipalname": "userPrincipalName", "displayname": "displayName"}
_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_./]*)"
                    r"|(?P<other>\S+))")


def unsupported(what):
    return GraphError(400, "Request_UnsupportedQuery",
                      f"Unsupported or invalid query filter clause specified for property '{what}' of resource 'User'.")


def invalid(text, position):
    return GraphError(400, "BadRequest", f"Invalid filter clause: Syntax error at position {position} in '{text}'.")


def _tokens(text):
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "other":
            raise invalid(text, match.start(kind))
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        tokens.append((kind, value, match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text):
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None, len(self.text))

    def take(self, kind=None, value=None):
        token = self.peek()
        if token[0] is None or (kind and token[0] != kind) or (value and str(token[1]).lower() != value):
            raise invalid(self.text, token[2])
        self.index += 1
        return token

    def parse(self):
        if not self.tokens:
            raise invalid(self.text, 0)
        predicate = self.expression()
        if self.peek()[0] is not None:
            raise invalid(self.text, self.peek()[2])
        return predicate

    def expression(self):
        terms = [self.term()]
        while self._keyword("or"):
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else (lambda user: any(term(user) for term in terms))

    def term(self):
        factors = [self.factor()]
        while self._keyword("and"):
            factors.append(self.factor())
        return factors[0] if len(factors) == 1 else (lambda user: all(factor(user) for factor in factors))

    def _keyword(self, word):
        kind, value, _ = self.peek()
        if kind == "word" and value.lower() == word:
            self.index += 1
            return True
        return False

    def factor(self):
        kind, value, _ = self.peek()
        if kind == "punct" and value == "(":
            self.take()
            inner = self.expression()
            self.take("punct", ")")
            return inner
        name = self.take("word")[1]
        if self.peek()[0] == "punct" and self.peek()[1] == "(":
            return self.function(name)
        operator = self.take("word")[1].lower()
        if operator != "eq":
            raise unsupported(name)
        return self.equality(name)

    def equality(self, name):
        prop = EQ_PROPERTIES.get(name.lower())
        if prop is None:
            raise unsupported(name)
        kind, value, position = self.take()
        if prop == "accountEnabled":
            if kind != "word" or value.lower() not in ("true", "false"):
                raise invalid(self.text, position)
            wanted = value.lower() == "true"
            return lambda user: user.get(prop) is wanted
        if kind != "string":
            raise invalid(self.text, position)
        wanted = value.lower()
        return lambda user: str(user.get(prop) or "").lower() == wanted

    def function(self, name):
        if name.lower() != "startswith":
            raise unsupported(name)
        self.take("punct", "(")
        argument = self.take("word")[1]
        prop = STARTSWITH_PROPERTIES.get(argument.lower())
        if prop is None:
            raise unsupported(argument)
        self.take("punct", ",")
        prefix = self.take("string")[1].lower()
        self.take("punct", ")")
        return lambda user: str(user.get(prop) or "").lower().startswith(prefix)


def user_filter(text):
    """A predicate over a user's Graph properties (a dict), or a 400 GraphError for what Graph would refuse."""
    return _Parser(text).parse()
