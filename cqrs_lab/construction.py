"""How the kit builds frozen dataclasses quickly: messages, envelopes and rows.

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``, about
twice the cost of a plain assignment. Commands and events are built once per command handled,
so the kit builds them another way, with the same result:

- :class:`FasterInit`, the base of commands, events and queries, gives each message class an
  ``__init__`` with the same signature that stores all the fields at once, once the class has
  made its first instance; a class is left as it was where the faster form could differ (see
  :func:`faster_init`).
- :func:`faster_replace` copies an instance with a few fields changed -- how the command bus
  stamps a command -- without re-running ``__init__``.
- :func:`unfrozen_twin` gives a slotted class a plain twin with its layout, filled slot by slot
  and then given the frozen class: how the kit builds its envelopes and receipts, and how the
  two functions above build a class whose fields are all in slots.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class Note:
...     text: str
...     tags: tuple[str, ...] = ()
>>> init = faster_init(Note)
>>> note = object.__new__(Note)
>>> init(note, text="hi")
>>> note == Note(text="hi")
True
"""

from __future__ import annotations

import dataclasses
import inspect
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["FasterInit", "faster_init", "faster_replace", "unfrozen_twin"]


def faster_init(cls: type) -> Callable[..., None] | None:
    """A faster ``__init__`` for the frozen dataclass ``cls``, or None where it could differ.

    It takes the same keyword-only parameters with the same defaults, stores the fields that live
    in the instance ``__dict__`` as one dict and those in slots through their descriptors, then
    calls ``__post_init__`` if there is one. Where every field is in a slot, an instance of
    ``cls`` itself is instead filled as its :func:`unfrozen_twin`: its class set to the twin,
    plain stores, its class set back -- cheaper from three or four fields on.

    None unless ``cls`` is a frozen dataclass whose own generated ``__init__`` takes exactly its
    fields, all keyword-only, none with a default factory: an ``InitVar``, a field with
    ``init=False``, a positional field or a hand-written ``__init__`` keeps the dataclass's own.
    """
    generated: Any = vars(cls).get("__init__")
    if not dataclasses.is_dataclass(cls) or not _generated_by_dataclass(generated):
        return None
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        return None
    fields = dataclasses.fields(cls)
    if any(f.default_factory is not dataclasses.MISSING for f in fields):
        return None
    if any(f.name.startswith(_OWN_NAMES) for f in fields):
        return None  # a parameter of that name would hide one of the generated code's own
    try:
        signature = inspect.signature(generated)
    except (TypeError, ValueError):
        return None
    self_name, *rest = signature.parameters  # "self", unless a field has that name
    parameters = [signature.parameters[name] for name in rest]
    if [p.name for p in parameters] != [f.name for f in fields] or any(
        p.kind is not inspect.Parameter.KEYWORD_ONLY for p in parameters
    ):
        return None

    # the generated code's own names start with __kit_ (fields that do are declined above)
    namespace: dict[str, Any] = {"__kit_type__": type}
    arguments: list[str] = []
    for index, field in enumerate(fields):
        if field.default is dataclasses.MISSING:
            arguments.append(field.name)
        else:
            namespace[f"__kit_default_{index}__"] = field.default
            arguments.append(f"{field.name}=__kit_default_{index}__")
    names = [f.name for f in fields]
    body = _stores(cls, names, self_name, str, namespace)
    namespace.update(__kit_cls__=cls, __kit_hook__=FasterInit.__post_init__)
    if _runs_post_init(cls):
        post_init = [f"{self_name}.__post_init__()"]
    else:
        # The dataclass's own __init__ calls __post_init__, so a plain subclass that inherits
        # this __init__ and defines one must have it called (it cannot have learned its own).
        post_init = [
            f"if __kit_type__({self_name}) is not __kit_cls__ and "
            f"__kit_type__({self_name}).__post_init__ is not __kit_hook__:",
            f"    {self_name}.__post_init__()",
        ]
    twin = _twin_for(cls, names) if names else None
    if twin is None:
        body += post_init
    else:  # an instance of cls itself is filled as its twin: plain stores, then its class back
        namespace.update(__kit_twin__=twin, __kit_setattr__=object.__setattr__)
        body = [
            f"if __kit_type__({self_name}) is __kit_cls__:",
            f"    __kit_setattr__({self_name}, '__class__', __kit_twin__)",
            *[f"    {self_name}.{name} = {name}" for name in names],
            f"    {self_name}.__class__ = __kit_cls__",
            "else:",
            *[f"    {line}" for line in body],
            *post_init,
        ]
    signature_text = ", ".join([self_name, "*", *arguments] if arguments else [self_name])
    source = f"def __init__({signature_text}):\n    " + "\n    ".join(body)
    exec(source, namespace)  # the source is built only from field names, which are identifiers
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = generated.__qualname__  # errors name the class as the dataclass's do
    init.__annotations__ = dict(generated.__annotations__)
    init.__doc__ = generated.__doc__
    return init


def _generated_by_dataclass(init: object) -> bool:
    """Whether ``init`` is an ``__init__`` that ``@dataclass`` wrote (it compiles it from text),
    rather than one written in a class body."""
    code = getattr(init, "__code__", None)
    return code is not None and code.co_filename == "<string>" and init not in _HAND_WRITTEN


def _slot(cls: type, name: str) -> Any:
    """The slot descriptor of ``name`` if instances of ``cls`` keep it in a slot, else None."""
    for klass in cls.__mro__:
        attribute = vars(klass).get(name, _ABSENT)
        if attribute is not _ABSENT:
            return attribute if inspect.ismemberdescriptor(attribute) else None
    return None


_ABSENT = object()


def _stores(
    cls: type, names: list[str], target: str, value: Callable[[str], str], namespace: dict[str, Any]
) -> list[str]:
    """Lines of generated code that set the fields ``names`` of the instance ``target`` to the
    expressions ``value(name)``: those in the instance ``__dict__`` as one dict, those in slots
    through their descriptors (whose setters go into ``namespace``)."""
    in_dict = [name for name in names if _slot(cls, name) is None]
    lines = []
    if in_dict:
        namespace["__kit_setattr__"] = object.__setattr__
        items = ", ".join(f"{name!r}: {value(name)}" for name in in_dict)
        lines.append(f"__kit_setattr__({target}, '__dict__', {{{items}}})")
    for index, name in enumerate(names):
        slot = _slot(cls, name)
        if slot is not None:
            namespace[f"__kit_set_{index}__"] = slot.__set__
            lines.append(f"__kit_set_{index}__({target}, {value(name)})")
    return lines


def _twin_for(cls: type, fields: list[str]) -> type | None:
    """The :func:`unfrozen_twin` that can build instances of ``cls``, or None where there is
    none: a field outside the slots, instances with a ``__dict__``, no ``__slots__`` of the
    class's own, a base whose subclasses run code beyond the kit's (a metaclass of its own, an
    ``__init_subclass__`` from elsewhere), or a layout Python will not swap."""
    if any(_slot(cls, name) is None for name in fields):
        return None
    if "__slots__" not in vars(cls) or cls.__dictoffset__:
        return None
    base = cls.__base__ or object
    if type(base) is not type or any(
        "__init_subclass__" in vars(klass) and not klass.__module__.startswith("cqrs_lab.")
        for klass in base.__mro__[:-1]  # all but object
    ):
        return None
    twin = _TWINS.get(cls)
    if twin is None:
        try:
            twin = _TWINS[cls] = unfrozen_twin(cls)
        except TypeError:  # e.g. a weakref slot or a private (name-mangled) slot
            return None
    return twin


_TWINS: weakref.WeakKeyDictionary[type, type] = weakref.WeakKeyDictionary()  # one per class


_OWN_NAMES = "__kit_"  # the prefix of every name the generated code uses


class FasterInit:
    """Base for frozen dataclasses built often: each subclass's first instance swaps in its
    :func:`faster_init`.

    ``@dataclass`` makes the generated ``__init__`` call ``__post_init__``, and this one runs
    once per class: the class keeps the faster ``__init__`` (which does not call it again), or,
    where there is none, its own. A dataclass with a ``__post_init__`` of its own keeps the
    dataclass's ``__init__``; a plain subclass that inherits a faster ``__init__`` has its own
    ``__post_init__`` called by it, as the dataclass's would.
    """

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = vars(cls).get("__init__")
        if init is not None and "__dataclass_fields__" not in vars(cls):
            _HAND_WRITTEN.add(init)  # written in the class body, before @dataclass ran

    def __post_init__(self) -> None:
        """Swap in the faster ``__init__`` of this instance's class, the first time."""
        cls = type(self)
        if cls not in _LEARNED:
            _LEARNED.add(cls)
            init = faster_init(cls)
            if init is not None:
                cls.__init__ = init  # type: ignore[method-assign]


_LEARNED: weakref.WeakSet[type] = weakref.WeakSet()
_HAND_WRITTEN: weakref.WeakSet[Any] = weakref.WeakSet()


def _runs_post_init(cls: type) -> bool:
    """Whether ``cls`` has a ``__post_init__`` of its own that ``__init__`` must call."""
    return getattr(cls, "__post_init__", FasterInit.__post_init__) is not FasterInit.__post_init__


def faster_replace(cls: type, names: tuple[str, ...]) -> Callable[..., Any] | None:
    """``replace(instance, *values)``: a copy of an instance of ``cls`` with the fields ``names``
    set to ``values`` -- :func:`dataclasses.replace` for a fixed set of fields, built once.

    An instance whose fields are all in slots is copied through the class's
    :func:`unfrozen_twin`. Otherwise the fields in the instance ``__dict__`` are copied as one
    dict and those in slots set through their descriptors. None where ``dataclasses.replace``
    must be used: ``cls`` has a ``__post_init__`` to run, or ``names`` are not all fields.
    """
    if not dataclasses.is_dataclass(cls) or _runs_post_init(cls):
        return None
    fields = [f.name for f in dataclasses.fields(cls)]
    if not set(names) <= set(fields) or any(f.startswith(_OWN_NAMES) for f in fields):
        return None

    def value(field: str) -> str:
        return field if field in names else f"__kit_self__.{field}"

    namespace: dict[str, Any] = {"__kit_cls__": cls, "__kit_new__": object.__new__}
    twin = _twin_for(cls, fields)
    if twin is not None:
        namespace["__kit_twin__"] = twin
        body = ["__kit_copy__ = __kit_new__(__kit_twin__)"]
        body += [f"__kit_copy__.{f} = {value(f)}" for f in fields]
        body += ["__kit_copy__.__class__ = __kit_cls__"]
    else:
        # only the fields: a cached_property's value in the old dict may not hold for the copy
        body = ["__kit_copy__ = __kit_new__(__kit_cls__)"]
        body += _stores(cls, fields, "__kit_copy__", value, namespace)
    parameters = ", ".join(["__kit_self__", *names])
    source = f"def replace({parameters}):\n    " + "\n    ".join([*body, "return __kit_copy__"])
    exec(source, namespace)  # the source is built only from field names, which are identifiers
    replace: Callable[..., Any] = namespace["replace"]
    return replace


def unfrozen_twin(cls: type) -> type:
    """A class with the layout of the frozen, slotted dataclass ``cls`` that can be written to.

    The kit builds a record per event stored, a receipt per append, a command and its stamped
    copy per command: each is a twin filled slot by slot (a plain attribute store each) whose
    ``__class__`` is then set to ``cls`` -- same layout, same values, frozen from then on -- for
    well under half the cost of the frozen ``__init__``. (The order views build their rows the
    same way.) Making the twin subclasses ``cls``'s base, so that base's ``__init_subclass__``
    runs for it: :func:`faster_init` and :func:`faster_replace` make none where that is code
    from outside the kit. Raises ``TypeError`` at once if the two layouts could not be swapped.
    A slot left unset would only fail when read: tests compare what the kit builds this way
    with instances built by ``__init__``.
    """
    base: type = cls.__base__ or object
    namespace: dict[str, Any] = {"__slots__": vars(cls)["__slots__"]}
    if base is not object:
        # The base's frozen __setattr__ and __delattr__ must not apply to the twin. Both, since
        # both fill the one C slot for setting attributes: with either left in Python, every
        # store on the twin would go through a Python-level lookup, three times slower.
        namespace["__setattr__"] = object.__setattr__
        namespace["__delattr__"] = object.__delattr__
    twin = type(f"_{cls.__name__}Draft", (base,), namespace)
    probe: Any = object.__new__(twin)
    probe.__class__ = cls  # a TypeError now rather than on first use
    return twin
