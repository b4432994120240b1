import pytest

from core.expressions import Expression, ExpressionError, Template, is_truthy
from core.expressions.dialect import to_jmespath

CONTEXT = {
    "inputs": {"dryRun": False, "n": 3, "flag": True, "name": "app",
               "list": [{"name": "x", "id": 1, "deleted": False}, {"name": "y", "id": 2, "deleted": True}]},
    "steps": {"apply-remediation": {"outputs": {"changed": True, "bundle": {"k": 1}}}},
    "item": "eu-1",
    "index": 0,
}


@pytest.mark.parametrize("source, translated", [
    ("not inputs.dryRun", "!(inputs.dryRun)"),
    ("inputs.a and inputs.b or inputs.c", "inputs.a && inputs.b || inputs.c"),
    ("steps.apply-remediation.outputs.changed", 'steps."apply-remediation".outputs.changed'),
    ("steps.1st-step.outputs.x", 'steps."1st-step".outputs.x'),
    ("inputs.n > 2", "inputs.n>`2`"),
    ("inputs.flag == true", "inputs.flag==`true`"),
    ("inputs.list[-1]", "inputs.list[-1]"),
    ("'not and or' == inputs.name", "'not and or'==inputs.name"),
])
def test_dialect_rewrites(source, translated):
    assert to_jmespath(source) == translated


@pytest.mark.parametrize("source, expected", [
    ("not inputs.dryRun", True),           # plain jmespath '!inputs.dryRun' would give null
    ("not inputs.flag", False),
    ("not inputs.n == 3", False),           # not binds looser than ==, as in Python
    ("not (inputs.dryRun or inputs.flag)", False),
    ("inputs.flag and not inputs.dryRun", True),
    ("inputs.n > 2 and inputs.n < 4", True),
    ("inputs.list[?name == 'x' && not deleted].id", [1]),
    ("length(inputs.list)", 2),
    ("steps.apply-remediation.outputs.bundle", {"k": 1}),
    ("{first: inputs.list[0].name, off: not inputs.flag}", {"first": "x", "off": False}),
    ("item", "eu-1"),
    ("index", 0),
])
def test_evaluation(source, expected):
    assert Expression.parse(source).evaluate(CONTEXT) == expected


@pytest.mark.parametrize("source, references", [
    ("inputs.a.b[0].c", (("inputs", "a", "b"),)),
    ("steps.apply-remediation.outputs.bundle", (("steps", "apply-remediation", "outputs", "bundle"),)),
    ("length(inputs.l) > `1` && secrets.tok", (("inputs", "l"), ("secrets", "tok"))),
    ("sort_by(inputs.l, &name)[0].x", (("inputs", "l"),)),
    ("inputs.l[?name == inputs.other]", (("inputs", "l"),)),  # inside a filter: relative to each element
    ("[item, index]", (("item",), ("index",))),
    ("{a: inputs.x, b: steps.s.outputs.y}", (("inputs", "x"), ("steps", "s", "outputs", "y"))),
    ("inputs.l | [0].name", (("inputs", "l"),)),
    ("@", (("@",),)),
])
def test_static_references(source, references):
    assert Expression.parse(source).references == references


def test_runtime_and_secret_classification():
    assert Expression.parse("steps.a.outputs.b").is_runtime
    assert not Expression.parse("inputs.a").is_runtime
    assert Expression.parse("secrets.token").secret_path == "token"
    assert Expression.parse("join(',', [secrets.token])").secret_path is None


@pytest.mark.parametrize("source", ["inputs.[", "a ==", "foo(", "'open", "__import__('os').system('x')", ""])
def test_syntax_errors_are_expression_errors(source):
    with pytest.raises(ExpressionError):
        Expression.parse(source)


def test_whole_template_keeps_type_and_embedded_interpolates():
    assert Template.parse("{{ inputs.list[0] }}").render(CONTEXT) == {"name": "x", "id": 1, "deleted": False}
    assert Template.parse("  {{ inputs.n }} ").render(CONTEXT) == 3
    assert Template.parse("n={{ inputs.n }}, flag={{ inputs.flag }}, none={{ inputs.nope }}").render(CONTEXT) \
        == "n=3, flag=true, none=null"
    assert Template.parse("{{ inputs.n }}{{ inputs.n }}").render(CONTEXT) == "33"


def test_unclosed_template_is_an_error():
    with pytest.raises(ExpressionError, match="never closed"):
        Template.parse("hello {{ inputs.n")


def test_evaluation_errors_are_expression_errors():
    with pytest.raises(ExpressionError):
        Expression.parse("length(inputs.n)").evaluate(CONTEXT)


@pytest.mark.parametrize("value, truthy", [
    (None, False), (False, False), ("", False), ([], False), ({}, False),
    (0, True), ("false", True), ([0], True), (True, True),
])
def test_jmespath_truthiness(value, truthy):
    assert is_truthy(value) is truthy


@pytest.mark.parametrize("source, message", [
    ("not_a_function(inputs.x)", "unknown function 'not_a_function'"),
    ("length(inputs.a, inputs.b)", "length() takes 1 argument, not 2"),
    ("merge()", "merge() takes at least 1 argument"),
])
def test_functions_are_checked_statically(source, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Expression.parse(source)


# -- amplification (issue 10 item 2): every evaluation is bounded in value size and work ----------

def _doubled(stages: int, start: str = "inputs.name") -> str:
    return start + " | [@, @]" * stages


@pytest.mark.parametrize("source, message", [
    (_doubled(40), "more than 1,000,000 elements"),                 # 2^40 logical elements, 40 small lists
    (f"length(to_string({_doubled(22)})) > `1`", "more than 1,000,000 elements"),
    ("[" + ", ".join(["@"] * 120) + "] | [" + ", ".join(["@"] * 120) + "] | [" + ", ".join(["@"] * 120) + "]",
     "more than 1,000,000 elements"),
    # 18 stages make 262,144 elements (under the size limit); walking them four times is too much work
    ("[" + ", ".join([f"to_string({_doubled(18)})"] * 4) + "]", "units of work"),
    # a 2^18-element list built cheaply, flattened, then filtered element by element
    (f"{_doubled(18, 'inputs.n')} | @[][][][][][][][][][][][][][][][][][] | [?@ == `4`]", "units of work"),
])
def test_amplifying_expressions_are_refused(source, message):
    with pytest.raises(ExpressionError, match=message):
        Expression.parse(source).evaluate(CONTEXT)


def test_a_value_just_under_the_limits_is_still_computed():
    text = Expression.parse(f"to_string({_doubled(15)})").evaluate(CONTEXT)
    assert text.count('"app"') == 2 ** 15 and text.startswith("[" * 15)
    assert Expression.parse(f"length({_doubled(18)})").evaluate(CONTEXT) == 2


def test_text_made_of_many_templates_is_bounded():
    """The templates of one text share one expression's budget, and the text its length limit."""
    piece = "{{ to_string(" + _doubled(14) + ") }}"
    with pytest.raises(ExpressionError, match="the expressions of this text together do more than 500,000 units"):
        Template.parse(piece * 50).render(CONTEXT)
    with pytest.raises(ExpressionError, match="the text would be longer than 10,485,760 characters"):
        Template.parse("{{ inputs.long }}" * 11).render(dict(CONTEXT, inputs={"long": "x" * 1024 * 1024}))


def test_a_shared_budget_bounds_a_series_of_evaluations():
    from core.expressions import ValueBudget
    budget = ValueBudget(max_work=10_000)
    expression = Expression.parse("inputs.list[?name == 'x'].id")
    with pytest.raises(ExpressionError, match="together do more than 10,000 units of work"):
        for _ in range(10_000):
            assert expression.evaluate(CONTEXT, budget) == [1]


def test_huge_integers_and_deep_values_are_refused_not_crashed():
    deep: list = []
    for _ in range(900):
        deep = [deep]
    context = dict(CONTEXT, inputs={"big": 10 ** 5000, "deep": deep})
    with pytest.raises(ExpressionError):
        Expression.parse("to_string(inputs.big)").evaluate(context)
    assert Expression.parse("length(inputs.deep)").evaluate(context) == 1
    assert Expression.parse("inputs.deep == inputs.deep").evaluate(context) is True
