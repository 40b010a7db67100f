"""Messages swap in a faster ``__init__`` after their first instance, with the same results."""

from __future__ import annotations

import abc
import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import FrozenInstanceError, InitVar, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from cqrs_lab.construction import FasterInit, faster_init, faster_replace, unfrozen_twin
from cqrs_lab.messages import Command, Event, RecordedEvent

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _dict_command() -> type:  # its own fields in the instance dict, Command's in slots
    @dataclass(frozen=True, kw_only=True)
    class Rename(Command):
        name: str
        size: int = 1

    return Rename


def _slotted_event() -> type:
    @dataclass(frozen=True, kw_only=True, slots=True)
    class Renamed(Event):
        name: str
        size: int = 1

    return Renamed


def _slotted_command() -> type:  # every field in a slot, Command's own three included
    @dataclass(frozen=True, kw_only=True, slots=True)
    class Resize(Command):
        name: str
        size: int = 1

    return Resize


def _error(call: Callable[..., object], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(TypeError) as raised:
        call(*args, **kwargs)
    return str(raised.value)


def _mixed_event() -> type:  # name in a slot of its base, size in the instance dict
    @dataclass(frozen=True, kw_only=True, slots=True)
    class Named(Event):
        name: str

    @dataclass(frozen=True, kw_only=True)
    class Sized(Named):
        size: int = 1

    return Sized


MESSAGES = [_dict_command, _slotted_event, _slotted_command, _mixed_event]


@pytest.mark.parametrize("make", MESSAGES, ids=lambda make: make.__name__)
def test_the_first_instance_swaps_in_an_init_that_builds_the_same_instances(
    make: Callable[[], type],
) -> None:
    cls = make()
    generated = vars(cls)["__init__"]
    cls(name="first")

    assert vars(cls)["__init__"] is not generated
    swapped = vars(cls)["__init__"]
    assert inspect.signature(swapped) == inspect.signature(generated)
    assert swapped.__qualname__ == generated.__qualname__
    for kwargs in ({"name": "a"}, {"name": "b", "size": 7}):
        fast = cls(**kwargs)
        reference: Any = object.__new__(cls)
        generated(reference, **kwargs)
        assert fast == reference
        assert hash(fast) == hash(reference)
        assert repr(fast) == repr(reference)
        assert dataclasses.asdict(fast) == dataclasses.asdict(reference)
        assert getattr(fast, "__dict__", None) == getattr(reference, "__dict__", None)
    assert cls(name="c").size == 1
    with pytest.raises(FrozenInstanceError):
        cls(name="d").name = "e"


@pytest.mark.parametrize("make", [_slotted_event, _slotted_command])
def test_a_plain_subclass_built_through_its_parents_swapped_init_keeps_its_own_class(
    make: Callable[[], type],
) -> None:
    # a command's init fills an instance of its own class as its twin, never this one
    cls = make()
    cls(name="first")  # the parent's init is swapped in now

    class Tagged(cls):  # type: ignore[valid-type, misc]  # no @dataclass: the parent's init
        pass

    class Fixed(cls):  # type: ignore[valid-type, misc]
        __slots__ = ()

    for sub in (Tagged, Fixed):
        built = sub(name="a", size=2)
        assert type(built) is sub
        assert (built.name, built.size) == ("a", 2)
        assert built == sub(name="a", size=2)
    assert Tagged(name="b").__dict__ == {}


@pytest.mark.parametrize("make", MESSAGES, ids=lambda make: make.__name__)
def test_the_swapped_init_rejects_bad_arguments_as_the_dataclass_init_does(
    make: Callable[[], type],
) -> None:
    cls = make()
    generated = vars(cls)["__init__"]
    cls(name="first")
    blank: Any = object.__new__(cls)

    missing = _error(cls)
    assert missing == _error(generated, blank)
    assert f"{cls.__qualname__}.__init__() missing 1 required keyword-only argument" in missing
    assert _error(cls, name="a", bogus=1) == _error(generated, blank, name="a", bogus=1)
    assert "bogus" in _error(cls, name="a", bogus=1)
    assert _error(cls, "a") == _error(generated, blank, "a")
    assert "positional" in _error(cls, "a")


@dataclass(frozen=True, kw_only=True)
class Tagged(Command):
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Counted(Command):
    name: str
    count: int = field(default=0, init=False)


@dataclass(frozen=True, kw_only=True)
class Seeded(Command):
    seed: InitVar[int]
    doubled: int = field(default=0, init=False)

    def __post_init__(self, seed: int) -> None:
        object.__setattr__(self, "doubled", seed * 2)


@dataclass(frozen=True)
class Positional(FasterInit):
    name: str


@dataclass(kw_only=True)
class Mutable(FasterInit):
    name: str


@dataclass(frozen=True, kw_only=True)
class HandWritten(Command):
    name: str

    def __init__(self, name: str) -> None:
        super().__init__()  # Command's fields, at their defaults
        object.__setattr__(self, "name", name.upper())


class Undecorated(Command):
    pass


class NotADataclass:
    pass


KEPT: list[tuple[type, dict[str, Any]]] = [
    (Tagged, {}),
    (Counted, {"name": "a"}),
    (Seeded, {"seed": 3}),
    (Positional, {"name": "a"}),
    (Mutable, {"name": "a"}),
    (HandWritten, {"name": "a"}),
    (Undecorated, {}),
]


@pytest.mark.parametrize("cls", [cls for cls, _ in KEPT] + [NotADataclass], ids=repr)
def test_faster_init_declines_classes_whose_init_could_differ(cls: type) -> None:
    assert faster_init(cls) is None


@pytest.mark.parametrize(("cls", "kwargs"), KEPT, ids=lambda value: getattr(value, "__name__", ""))
def test_a_declined_class_keeps_its_own_init_and_behaves_after_many_instances(
    cls: type, kwargs: dict[str, Any]
) -> None:
    before = vars(cls).get("__init__")
    first = cls(**kwargs)
    for _ in range(3):
        assert cls(**kwargs) == first
    assert vars(cls).get("__init__") is before


def test_declined_classes_still_apply_factories_init_false_defaults_and_init_vars() -> None:
    lists = [Tagged().tags for _ in range(3)]
    assert lists == [[], [], []]
    assert len({id(tags) for tags in lists}) == 3
    assert [Counted(name="a").count for _ in range(3)] == [0, 0, 0]
    assert [Seeded(seed=n).doubled for n in range(3)] == [0, 2, 4]
    assert [HandWritten("a").name for _ in range(3)] == ["A", "A", "A"]


@pytest.mark.parametrize("calls_super", [True, False])
def test_a_subclass_post_init_runs_on_every_construction(calls_super: bool) -> None:
    @dataclass(frozen=True, kw_only=True)
    class Deposit(Command):
        cents: int

        def __post_init__(self) -> None:
            if self.cents <= 0:
                raise ValueError("a deposit must be positive")
            if calls_super:
                super().__post_init__()

    generated = vars(Deposit)["__init__"]
    for _ in range(3):
        assert Deposit(cents=5).cents == 5
        with pytest.raises(ValueError, match="positive"):
            Deposit(cents=0)
    assert (vars(Deposit)["__init__"] is not generated) is calls_super


def test_messages_without_fields_of_their_own_can_be_built_again_and_again() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Ping(Command):
        pass

    @dataclass(frozen=True, kw_only=True)
    class Pinged(Event):
        pass

    for cls in (Ping, Pinged):
        generated = vars(cls)["__init__"]
        instances = [cls() for _ in range(3)]
        assert vars(cls)["__init__"] is not generated
        assert instances[1:] == instances[:-1]
        assert "bogus" in _error(cls, bogus=1)
    assert Ping(command_id="c-1").command_id == "c-1"
    assert Ping().command_id == ""


@dataclass(frozen=True)
class Row:
    key: int
    label: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SlottedRow:
    key: int
    label: str = ""
    tags: tuple[str, ...] = ()


@pytest.mark.parametrize("cls", [Row, SlottedRow])
def test_faster_replace_copies_with_the_named_fields_changed(cls: type) -> None:
    replace = faster_replace(cls, ("label", "key"))
    assert replace is not None
    original: Any = cls(key=1, label="one", tags=("t",))

    copy: Any = replace(original, "two", 2)

    assert copy == dataclasses.replace(original, label="two", key=2)
    assert copy.tags is original.tags
    assert original == cls(key=1, label="one", tags=("t",))
    with pytest.raises(FrozenInstanceError):
        copy.key = 3
    assert type(copy) is cls


@pytest.mark.parametrize("make", [_dict_command, _slotted_command])
def test_faster_replace_stamps_a_command_as_dataclasses_replace_does(
    make: Callable[[], type],
) -> None:
    cls = make()
    replace = faster_replace(cls, ("command_id", "issued_at", "correlation_id"))
    assert replace is not None
    command: Any = cls(name="a", size=2)

    stamped: Any = replace(command, "c-1", WHEN, "r-1")

    with pytest.raises(FrozenInstanceError):
        stamped.command_id = "c-2"
    expected = dataclasses.replace(command, command_id="c-1", issued_at=WHEN, correlation_id="r-1")
    assert stamped == expected
    assert getattr(stamped, "__dict__", None) == getattr(expected, "__dict__", None)
    assert command.command_id == ""
    assert type(stamped) is cls


def test_faster_replace_copies_a_layout_split_between_slots_and_the_instance_dict() -> None:
    @dataclass(frozen=True)
    class Wider(SlottedRow):  # key, label and tags in slots, width in the instance dict
        width: int = 0

    for names, values in [(("width",), (5,)), (("label", "width"), ("two", 5)), (("key",), (2,))]:
        replace = faster_replace(Wider, names)
        assert replace is not None
        original: Any = Wider(key=1, label="one", tags=("t",), width=3)

        copy = replace(original, *values)

        assert copy == dataclasses.replace(original, **dict(zip(names, values, strict=True)))
        assert vars(copy) == {"width": 5 if "width" in names else 3}
        assert original == Wider(key=1, label="one", tags=("t",), width=3)


def test_faster_replace_declines_unknown_names_and_a_post_init() -> None:
    assert faster_replace(Row, ("key", "nope")) is None
    assert faster_replace(SlottedRow, ("nope",)) is None
    assert faster_replace(Seeded, ("command_id",)) is None  # its own __post_init__


def test_an_unfrozen_twin_given_the_frozen_class_equals_an_instance_built_by_init() -> None:
    renamed = _slotted_event()(name="a")
    resize = _slotted_command()
    cases: list[tuple[type, dict[str, Any]]] = [
        (RecordedEvent, {"position": 1, "stream_id": "s-1", "stream_version": 1,
                         "recorded_at": WHEN, "event_type": "Renamed", "schema_version": 1,
                         "event": renamed, "correlation_id": "r-1", "causation_id": "c-1"}),
        (resize, {"command_id": "c-1", "issued_at": WHEN, "correlation_id": "",
                  "name": "b", "size": 3}),
    ]  # fmt: skip
    for cls, values in cases:
        draft: Any = object.__new__(unfrozen_twin(cls))
        for name, value in values.items():
            setattr(draft, name, value)
        draft.__class__ = cls

        assert draft == cls(**values)
        assert repr(draft) == repr(cls(**values))
        with pytest.raises(FrozenInstanceError):
            setattr(draft, next(iter(values)), "changed")


def test_a_twin_of_a_frozen_subclass_sets_attributes_the_plain_way() -> None:
    # __setattr__ and __delattr__ fill one C slot together: were either still the frozen base's
    # Python function, every store on the twin would go through a Python-level lookup
    twin = unfrozen_twin(_slotted_event())

    assert twin.__setattr__ is object.__setattr__
    assert twin.__delattr__ is object.__delattr__


# --- regressions: each of these once went wrong ------------------------------------------------


def test_a_hand_written_init_with_the_field_signature_is_kept() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Scaled(Command):
        value: int

        def __init__(
            self,
            *,
            command_id: str = "",
            issued_at: datetime | None = None,
            correlation_id: str = "",
            value: int,
        ) -> None:
            object.__setattr__(self, "command_id", command_id)
            object.__setattr__(self, "issued_at", issued_at)
            object.__setattr__(self, "correlation_id", correlation_id)
            object.__setattr__(self, "value", value * 10)
            self.__post_init__()

    assert [Scaled(value=1).value for _ in range(3)] == [10, 10, 10]


def test_a_stamped_copy_does_not_carry_a_cached_property_over() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Traced(Command):
        order_id: str

        @functools.cached_property
        def trace(self) -> str:
            return f"{self.correlation_id or '-'}/{self.order_id}"

    command = Traced(order_id="o-1")
    assert command.trace == "-/o-1"
    replace = faster_replace(Traced, ("correlation_id",))
    assert replace is not None

    assert replace(command, "req-1").trace == "req-1/o-1"


@pytest.mark.parametrize("name", ["self", "_setattr", "fields", "new", "copy", "old"])
def test_fields_may_have_any_name_the_generated_code_uses_itself(name: str) -> None:
    cls = dataclasses.make_dataclass(
        "Odd", [(name, int), ("other", int, 0)], bases=(Command,), frozen=True, kw_only=True
    )
    built = [cls(**{name: n}) for n in range(3)]  # the second and third use the faster init
    replace = faster_replace(cls, (name,))
    assert replace is not None

    assert [getattr(b, name) for b in built] == [0, 1, 2]
    assert replace(built[0], 7) == cls(**{name: 7})


def test_faster_replace_copies_a_dataclass_without_fields() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Nothing(FasterInit):
        pass

    replace = faster_replace(Nothing, ())
    assert replace is not None

    assert replace(Nothing()) == Nothing()


# --- found in review: layouts and bases a twin cannot serve ---------------------------------------


def _uses_twin(cls: type) -> bool:
    init = faster_init(cls)
    return init is not None and "__kit_twin__" in init.__code__.co_names


def test_a_command_with_every_field_in_a_slot_is_built_through_its_twin() -> None:
    assert _uses_twin(_slotted_command())
    assert not _uses_twin(_dict_command())  # its own fields live in the instance dict


@dataclass(frozen=True, kw_only=True, slots=True, weakref_slot=True)
class Referenced(Command):
    name: str


@dataclass(frozen=True, kw_only=True)
class Private(Command):
    __slots__ = ("__token",)
    __token: str


class Abstract(Command, abc.ABC):
    __slots__ = ()

    @abc.abstractmethod
    def route(self) -> str: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Concrete(Abstract):
    name: str

    def route(self) -> str:
        return self.name


class Registering(Command):
    __slots__ = ()
    registered: ClassVar[list[str]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Registering.registered.append(cls.__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Registered(Registering):
    name: str


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (Referenced, {"name": "a"}),
        (Private, {"_Private__token": "t"}),
        (Concrete, {"name": "a"}),
        (Registered, {"name": "a"}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_a_class_no_twin_can_serve_is_built_through_its_slots_from_the_first_instance(
    cls: type, kwargs: dict[str, Any]
) -> None:
    built = [cls(**kwargs) for _ in range(3)]  # the first swaps in the faster init

    expected = {"command_id": "", "issued_at": None, "correlation_id": "", **kwargs}
    for instance in built:
        assert {f.name: getattr(instance, f.name) for f in dataclasses.fields(cls)} == expected
        assert type(instance) is cls
    assert not _uses_twin(cls)
    replace = faster_replace(cls, ("command_id",))
    assert replace is not None
    assert replace(built[0], "c-1") == dataclasses.replace(built[0], command_id="c-1")


def test_no_twin_is_made_where_a_base_hears_of_each_subclass() -> None:
    Registered(name="a")
    faster_replace(Registered, ("command_id",))

    # (slots=True makes the class twice, so it registers twice; a twin would be a third name)
    assert set(Registering.registered) == {"Registered"}


@pytest.mark.parametrize("name", ["__kit_twin__", "__kit_cls__", "__kit_self__"])
def test_a_field_named_like_the_generated_codes_own_keeps_the_dataclass_code(name: str) -> None:
    cls = dataclasses.make_dataclass(
        "Odd", [(name, int, 0)], bases=(Command,), frozen=True, kw_only=True, slots=True
    )

    built = [cls(**{name: n}) for n in range(3)]

    assert [getattr(b, name) for b in built] == [0, 1, 2]
    assert faster_init(cls) is None
    assert faster_replace(cls, ("command_id",)) is None


@pytest.mark.parametrize("make", [_slotted_command, _dict_command, _slotted_event])
def test_a_plain_subclass_has_its_own_post_init_called_through_its_parents_init(
    make: Callable[[], type],
) -> None:
    cls = make()
    cls(name="first")  # the parent's faster init is in place now

    class Audited(cls):  # type: ignore[valid-type, misc]
        def __post_init__(self) -> None:
            if self.size < 0:
                raise ValueError(f"size must be >= 0, found {self.size}")

    with pytest.raises(ValueError, match="found -1"):
        Audited(name="a", size=-1)
    assert Audited(name="a", size=1).size == 1
