"""All tables, imported here so that Alembic and the app see one metadata."""

from backend.models.base import Base
from backend.models.datasets import Dataset, LabelRevision, Patch, PatchStatus
from backend.models.jobs import (
    Job,
    JobEvent,
    JobKind,
    JobState,
    Run,
    TrainingSet,
    TrainingSetPurpose,
)
from backend.models.maps import MapKind, MapProduct
from backend.models.nomenclature import Nomenclature, NomenclatureClass
from backend.models.reviews import Assignment, Campaign, Decision, DecisionKind
from backend.models.users import Role, User

__all__ = [
    "Assignment",
    "Base",
    "Campaign",
    "Dataset",
    "Decision",
    "DecisionKind",
    "Job",
    "JobEvent",
    "JobKind",
    "JobState",
    "LabelRevision",
    "MapKind",
    "MapProduct",
    "Nomenclature",
    "NomenclatureClass",
    "Patch",
    "PatchStatus",
    "Role",
    "Run",
    "TrainingSet",
    "TrainingSetPurpose",
    "User",
]
